/**
 * Which data keys the database's values are sealed with, found by reading their headers
 * (server/crypto/data-key.ts), and the check every process makes before it touches a
 * database: a value sealed with a key the configured ring lacks, or one that does not
 * authenticate, refuses the start with a message naming the key, before migrations or
 * anything else write a byte. Rotation (server/keys/rotate.ts) reads the same census to
 * report progress: nothing is kept about keys but the values' own headers, so the census
 * is always the truth, after a crash too.
 */
import { CLEAR_AUDIT_PATHS, DataKeyError, SEALED_PREFIX, isSealed, openWith, sealedAuditBytes, type DataKeyRing } from './data-key.ts';

/**
 * The one thing read here of a connection (server/store/types.ts's `Sql` has it): named
 * here so that the store, which seals with this folder's keys, is not imported back.
 */
interface Sql {
	query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

/** Where sealed values live: document bytes, and the audit log's values (sealed and staged). */
export const BYTE_PLACES = [
	{ table: 'documents', column: 'snapshot' },
	{ table: 'document_updates', column: 'update' }
] as const;
export const AUDIT_TABLES = ['audit_log', 'audit_pending'] as const;
export const AUDIT_COLUMNS = ['before', 'after', 'conflict'] as const;

/** Values per key id ('' = stored plain), over every place. */
export interface KeyCensus {
	byKey: Map<string, number>;
	/** Values stored plain that rotation would seal (document bytes, and audit values outside CLEAR_AUDIT_PATHS). */
	plain: number;
	/** Values in all. */
	total: number;
}

const CLEAR_PATHS_SQL = [...CLEAR_AUDIT_PATHS].map((path) => `'${path.replace(/'/g, "''")}'`).join(', ');

/** An audit value's key id in SQL ('' for a plain value); base64 of the magic AC C0 DE is 'rMDe'. */
const auditKeyIdSql = (column: string) => `CASE WHEN jsonb_typeof(${column}) = 'string' AND substr(${column} #>> '{}', 1, 5) = chr(1) || 'rMDe'
	THEN encode(substring(decode(substr(${column} #>> '{}', 2, 16), 'base64') from 5 for 8), 'hex') ELSE '' END`;

const byteKeyIdSql = (column: string) => `CASE WHEN substring(${column} from 1 for 4) = $1::bytea THEN encode(substring(${column} from 5 for 8), 'hex') ELSE '' END`;

async function existingTables(sql: Sql): Promise<Set<string>> {
	const rows = await sql.query<{ name: string }>(
		`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
		[[...BYTE_PLACES.map((p) => p.table), ...AUDIT_TABLES]]
	);
	return new Set(rows.map((row) => row.name));
}

/** Counts the stored values per key id. One scan of each place: seconds for millions of rows. */
export async function keyCensus(sql: Sql): Promise<KeyCensus> {
	const tables = await existingTables(sql);
	const parts: string[] = [];
	for (const { table, column } of BYTE_PLACES) {
		if (tables.has(table)) parts.push(`SELECT ${byteKeyIdSql(`"${column}"`)} AS k FROM ${table} WHERE "${column}" IS NOT NULL`);
	}
	for (const table of AUDIT_TABLES) {
		if (!tables.has(table)) continue;
		for (const column of AUDIT_COLUMNS) {
			parts.push(`SELECT ${auditKeyIdSql(column)} AS k FROM ${table} WHERE ${column} IS NOT NULL AND path NOT IN (${CLEAR_PATHS_SQL})`);
		}
	}
	const census: KeyCensus = { byKey: new Map(), plain: 0, total: 0 };
	if (parts.length === 0) return census;
	const rows = await sql.query<{ k: string; n: string | number }>(`SELECT k, count(*) AS n FROM (${parts.join(' UNION ALL ')}) AS v GROUP BY k`, [SEALED_PREFIX]);
	for (const row of rows) {
		const n = Number(row.n);
		census.total += n;
		if (row.k === '') census.plain += n;
		else census.byKey.set(row.k, n);
	}
	return census;
}

/** One stored value sealed with this key, to try the key on. */
async function sampleSealedWith(sql: Sql, tables: Set<string>, id: string): Promise<Uint8Array | null> {
	const header = Buffer.concat([SEALED_PREFIX, Buffer.from(id, 'hex')]);
	for (const { table, column } of BYTE_PLACES) {
		if (!tables.has(table)) continue;
		const [row] = await sql.query<{ v: Uint8Array }>(`SELECT "${column}" AS v FROM ${table} WHERE substring("${column}" from 1 for 12) = $1::bytea LIMIT 1`, [header]);
		if (row) return row.v;
	}
	for (const table of AUDIT_TABLES) {
		if (!tables.has(table)) continue;
		for (const column of AUDIT_COLUMNS) {
			const [row] = await sql.query<{ v: unknown }>(`SELECT ${column} AS v FROM ${table} WHERE ${auditKeyIdSql(column)} = $1 LIMIT 1`, [id]);
			if (row) return sealedAuditBytes(row.v);
		}
	}
	return null;
}

/**
 * Refuses (DataKeyError) when the database holds a value sealed with a key the ring
 * lacks, or one that does not open with its key; reads only. Returns the census, so the
 * caller can say how much is still plain or under older keys.
 */
export async function checkStoredKeys(sql: Sql, ring: DataKeyRing | null): Promise<KeyCensus> {
	const census = await keyCensus(sql);
	const missing = [...census.byKey.keys()].filter((id) => !ring?.get(id));
	if (missing.length > 0) {
		const count = missing.reduce((sum, id) => sum + census.byKey.get(id)!, 0);
		throw new DataKeyError(
			`The database holds ${count} value(s) encrypted with data key ${missing.join(', ')}, ` +
				(ring
					? `which ACCORD_DATA_KEY does not hold (it holds ${ring.keys.map((k) => k.id).join(', ')}). Add that key to ACCORD_DATA_KEY (the newest last) and start again.`
					: 'but no ACCORD_DATA_KEY (or ACCORD_DATA_KEY_FILE) is set. Set it to the key(s) this database was encrypted with.') +
				' Nothing was changed.'
		);
	}
	const tables = await existingTables(sql);
	for (const id of census.byKey.keys()) {
		const sample = await sampleSealedWith(sql, tables, id);
		if (!sample || !isSealed(sample)) continue;
		try {
			openWith(ring, sample);
		} catch (error) {
			throw new DataKeyError(`Data key ${id} does not decrypt this database's values (${(error as Error).message}). Nothing was changed.`);
		}
	}
	return census;
}

/** "3,120 values: 2,000 under key a1b2… (newest), 1,120 plain" for logs and the CLI. */
export function describeCensus(census: KeyCensus, ring: DataKeyRing | null): string {
	const parts = [...census.byKey].map(([id, n]) => `${n} under key ${id}${ring?.newest.id === id ? ' (newest)' : ''}`);
	if (census.plain > 0) parts.push(`${census.plain} not encrypted`);
	return `${census.total} stored value(s)${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}
