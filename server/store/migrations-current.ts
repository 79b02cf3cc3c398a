/**
 * Opening a database whose schema is already current, which is nearly every opening:
 * one query finds every migration recorded, and nothing else runs. The walk in
 * migrations.ts (`migrate`) takes the migration lock and asks the ledger about each
 * migration in a transaction of its own, 17 of them and growing, and every start of
 * the server and every command-line run paid for it.
 *
 * Safety is the walk's: a migration's ledger row is written in the transaction that
 * applies it, so a row seen here is a migration fully applied and committed. When any
 * is missing (a new database, a newer Accord, two instances starting together on a new
 * database), the walk runs as before, under its lock.
 */
import { MIGRATIONS, migrate, type Migration } from './migrations.ts';
import type { Sql } from './types.ts';

/** Postgres's "undefined_table": no ledger yet, a database never migrated. */
const UNDEFINED_TABLE = '42P01';

/** Applies what is missing, as `migrate` does; when nothing is, one query and no transaction. */
export async function migrateIfBehind(sql: Sql, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
	if (await recordedAll(sql, migrations)) return [];
	return migrate(sql, migrations);
}

async function recordedAll(sql: Sql, migrations: readonly Migration[]): Promise<boolean> {
	try {
		const [row] = await sql.query<{ n: number }>('SELECT count(*)::integer AS n FROM schema_migrations WHERE version = ANY($1::integer[])', [
			migrations.map((m) => m.version)
		]);
		return Number(row?.n) === migrations.length;
	} catch (error) {
		if ((error as { code?: unknown }).code === UNDEFINED_TABLE) return false;
		throw error;
	}
}
