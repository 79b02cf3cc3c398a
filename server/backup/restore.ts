/**
 * Reads a backup back (format.ts, dump.ts) into an EMPTY database, PGlite or Postgres,
 * whichever engine wrote it: the way a workspace moves from the embedded default to a
 * Postgres server, and back.
 *
 * In order: the header is read and the whole content checked against its SHA-256 (a
 * truncated or damaged file is refused before anything is touched); the target is
 * migrated to the backup's schema version and checked to hold no data; then one
 * transaction deletes what the migrations seeded (the database's audit identity, which
 * the backup carries its own of), inserts every row with the tables' triggers off (a
 * restore puts rows back as they were, it does not write them anew: the append-only audit
 * log and the fixed identity would refuse it), puts the sequences back, and checks the
 * row counts against the manifest. Any failure rolls all of it back. Migrations newer
 * than the backup then run as at any start.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { MIGRATIONS, migrate } from '../store/migrations.ts';
import type { Sql, SqlTx } from '../store/types.ts';
import { BackupFileError, HEADER_BYTES, decodeHeader, keyId, type BackupHeader } from './format.ts';
import { quote, schemaVersionOf, type BackupManifest } from './dump.ts';

/** A database that is not empty, a schema it cannot take, a key missing: refused before anything changed. */
export class RestoreRefused extends Error {
	override readonly name = 'RestoreRefused';
}

/** Tables whose rows mean someone has used the database (the migrations alone leave them empty). */
const DATA_TABLES = ['workspaces', 'documents', 'users', 'audit_log', 'api_tokens'];
/** Rows per INSERT, and bytes of JSON at most per INSERT. */
const INSERT_ROWS = 500;
const INSERT_BYTES = 4 * 1024 * 1024;

/** Reads and checks a backup file's header, and its content against the header's length and SHA-256. */
export async function checkBackupFile(file: string, key?: Buffer | null): Promise<BackupHeader> {
	let size: number;
	try {
		size = (await stat(file)).size;
	} catch (error) {
		throw new BackupFileError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`);
	}
	const handle = await open(file, 'r');
	const block = Buffer.alloc(HEADER_BYTES);
	try {
		await handle.read(block, 0, HEADER_BYTES, 0);
	} finally {
		await handle.close();
	}
	const header = decodeHeader(size < HEADER_BYTES ? block.subarray(0, size) : block);
	const actual = size - HEADER_BYTES;
	if (actual !== header.contentBytes) {
		throw new BackupFileError(
			`The backup file is ${actual < header.contentBytes ? 'incomplete (truncated)' : 'damaged (longer than written)'}: it holds ${actual} bytes of content where its header says ${header.contentBytes}. Nothing was restored; use another copy.`
		);
	}
	const hash = createHash('sha256');
	for await (const chunk of createReadStream(file, { start: HEADER_BYTES })) hash.update(chunk as Buffer);
	const digest = hash.digest('hex');
	if (digest !== header.contentSha256) {
		throw new BackupFileError(`The backup file is damaged: its content's SHA-256 is ${digest}, its header says ${header.contentSha256}. Nothing was restored; use another copy.`);
	}
	if (key !== undefined) checkBackupKey(header, key);
	return header;
}

/** Refuses before reading a byte of content when an encrypted backup's key is not the one configured. */
export function checkBackupKey(header: BackupHeader, key: Buffer | null): void {
	if (header.encryption) {
		if (!key) throw new RestoreRefused(`This backup is encrypted (key id ${header.encryption.keyId}): set ACCORD_BACKUP_KEY (or ACCORD_DATA_KEY) to the key it was written with.`);
		if (keyId(key) !== header.encryption.keyId) {
			throw new RestoreRefused(`This backup was encrypted with key id ${header.encryption.keyId}; the key configured here has id ${keyId(key)}. Set ACCORD_BACKUP_KEY to the key it was written with.`);
		}
	}
}

/** The content's bytes, decrypted and decompressed. */
function contentStream(file: string, header: BackupHeader, key?: Buffer): Readable {
	const raw = createReadStream(file, { start: HEADER_BYTES });
	let stream: Readable = raw;
	if (header.encryption) {
		const decipher = createDecipheriv('aes-256-gcm', key!, Buffer.from(header.encryption.iv, 'base64'));
		decipher.setAuthTag(Buffer.from(header.encryption.tag, 'base64'));
		stream = raw.pipe(decipher);
		raw.on('error', (error) => decipher.destroy(error));
	}
	const gunzip = createGunzip();
	stream.on('error', (error) => gunzip.destroy(error));
	return stream.pipe(gunzip);
}

export interface RestoreResult {
	header: BackupHeader;
	tables: number;
	rows: number;
	/** Migrations newer than the backup, applied after it. */
	migratedAfter: number[];
}

async function targetVersion(sql: Sql): Promise<number> {
	const [ledger] = await sql.query<{ present: boolean }>(
		`SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations') AS present`
	);
	return ledger?.present ? schemaVersionOf(sql) : 0;
}

/** What the target holds already, per data table (only tables with rows). */
async function heldData(sql: Sql): Promise<string[]> {
	const held: string[] = [];
	for (const table of DATA_TABLES) {
		const [present] = await sql.query<{ present: boolean }>(
			`SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1) AS present`,
			[table]
		);
		if (!present?.present) continue;
		const [row] = await sql.query<{ n: number }>(`SELECT count(*) AS n FROM ${quote(table)}`);
		if (Number(row.n) > 0) held.push(`${Number(row.n)} in ${table}`);
	}
	return held;
}

async function targetColumns(tx: SqlTx): Promise<Map<string, Set<string>>> {
	const rows = await tx.query<{ table_name: string; column_name: string }>(
		`SELECT c.table_name, c.column_name FROM information_schema.columns AS c
		   JOIN information_schema.tables AS t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		  WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`
	);
	const map = new Map<string, Set<string>>();
	for (const row of rows) map.set(row.table_name, (map.get(row.table_name) ?? new Set()).add(row.column_name));
	return map;
}

/** Restores `file` into the database behind `sql`, which must hold no data. */
export async function restoreBackup(sql: Sql, file: string, options: { key?: Buffer } = {}): Promise<RestoreResult> {
	const header = await checkBackupFile(file, options.key ?? null);
	const known = MIGRATIONS.at(-1)?.version ?? 0;
	if (header.schemaVersion > known) {
		throw new RestoreRefused(`This backup has schema version ${header.schemaVersion}, made by a newer Accord; this one knows versions up to ${known}. Restore it with that version or later.`);
	}
	// Checked before anything is written, the migrations included.
	const held = await heldData(sql);
	if (held.length > 0) {
		throw new RestoreRefused(
			`The target database is not empty (rows: ${held.join(', ')}); a restore only goes into an empty one, and nothing was changed. ` +
				'Point DATA_DIR at a new directory or DATABASE_URL at a new database, and restore before the first start.'
		);
	}
	const before = await targetVersion(sql);
	if (before < header.schemaVersion) await migrate(sql, MIGRATIONS.filter((m) => m.version <= header.schemaVersion));

	let rows = 0;
	const tables = await sql.transaction(async (tx) => {
		const columns = await targetColumns(tx);
		const lines = createInterface({ input: contentStream(file, header, options.key), crlfDelay: Infinity });
		let manifest: BackupManifest | undefined;
		let table: BackupManifest['tables'][number] | undefined;
		let batch: string[] = [];
		let batchBytes = 0;
		let inTable = 0;
		let ended = false;

		const flush = async () => {
			if (!table || batch.length === 0) return;
			const list = table.columns.map(quote).join(', ');
			await tx.query(
				`INSERT INTO ${quote(table.name)} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM json_populate_recordset(NULL::${quote(table.name)}, $1::json)`,
				[`[${batch.join(',')}]`]
			);
			rows += batch.length;
			inTable += batch.length;
			batch = [];
			batchBytes = 0;
		};
		const closeTable = async () => {
			await flush();
			if (table && inTable !== table.rows) throw new BackupFileError(`The backup's table ${table.name} holds ${inTable} rows where its manifest says ${table.rows}: the file is damaged.`);
		};

		try {
			for await (const line of lines) {
				if (ended) throw new BackupFileError('The backup has content after its end marker: the file is damaged.');
				if (!manifest) {
					manifest = JSON.parse(line) as BackupManifest;
					if (manifest.accordBackup !== 1 || !Array.isArray(manifest.tables)) throw new BackupFileError('The backup\'s manifest is damaged.');
					for (const shape of manifest.tables) {
						const present = columns.get(shape.name);
						if (!present) throw new RestoreRefused(`The backup holds table ${shape.name}, which this database's schema lacks; nothing was changed.`);
						const missing = shape.columns.filter((c) => !present.has(c));
						if (missing.length > 0) throw new RestoreRefused(`The backup's table ${shape.name} has columns this database lacks (${missing.join(', ')}); nothing was changed.`);
					}
					// Emptied children first; the migrations' own rows (the audit identity) give way to the backup's.
					for (const shape of manifest.tables) await tx.query(`ALTER TABLE ${quote(shape.name)} DISABLE TRIGGER USER`);
					for (const shape of [...manifest.tables].reverse()) if (shape.name !== 'schema_migrations') await tx.query(`DELETE FROM ${quote(shape.name)}`);
					continue;
				}
				if (line.startsWith('#table ')) {
					await closeTable();
					const name = line.slice('#table '.length);
					table = manifest.tables.find((t) => t.name === name);
					if (!table) throw new BackupFileError(`The backup names table ${name} that its manifest does not list: the file is damaged.`);
					// The target's ledger stands: it was migrated to this very version above.
					if (name === 'schema_migrations') table = { ...table, rows: 0 };
					inTable = 0;
					continue;
				}
				if (line.startsWith('#end ')) {
					await closeTable();
					ended = true;
					continue;
				}
				if (!table) throw new BackupFileError('The backup has rows before any table: the file is damaged.');
				if (table.name === 'schema_migrations') continue;
				batch.push(line);
				batchBytes += line.length;
				if (batch.length >= INSERT_ROWS || batchBytes >= INSERT_BYTES) await flush();
			}
		} catch (error) {
			if (error instanceof BackupFileError || error instanceof RestoreRefused) throw error;
			const message = (error as Error).message;
			// zlib and the cipher speak of the file; the database of its rows.
			if (/unexpected end of file|incorrect header check|invalid|unable to authenticate/i.test(message) && !('code' in (error as object) && /^[0-9A-Z]{5}$/.test(String((error as { code?: unknown }).code)))) {
				throw new BackupFileError(`The backup's content cannot be read (${message}): the file is damaged, or the key is wrong. Nothing was restored.`);
			}
			throw error;
		}
		if (!manifest || !ended) throw new BackupFileError('The backup ends before its end marker: the file is incomplete. Nothing was restored.');

		for (const sequence of manifest.sequences) {
			const [present] = await tx.query<{ present: boolean }>(
				`SELECT EXISTS (SELECT 1 FROM information_schema.sequences WHERE sequence_schema = current_schema() AND sequence_name = $1) AS present`,
				[sequence.name]
			);
			if (present?.present) await tx.query('SELECT setval($1::regclass, $2, $3)', [quote(sequence.name), sequence.lastValue, sequence.isCalled]);
		}
		for (const shape of manifest.tables) await tx.query(`ALTER TABLE ${quote(shape.name)} ENABLE TRIGGER USER`);
		return manifest.tables.length;
	});
	const migratedAfter = await migrate(sql);
	return { header, tables, rows, migratedAfter };
}
