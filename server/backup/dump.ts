/**
 * Writes a backup: every table of the app's schema, read in ONE read-only transaction
 * (REPEATABLE READ on Postgres: one snapshot while writers carry on; on PGlite the
 * transaction holds the one connection, so the server's writes wait for it), as JSON
 * lines, gzip-compressed, optionally AES-256-GCM-encrypted, with the header (format.ts)
 * written last.
 *
 * The tables are read from the database's catalog (information_schema), not from a list
 * in the code: a migration that adds a table is backed up without anyone touching this.
 * Rows leave as Postgres's own `row_to_json` text and come back through
 * `json_populate_recordset` (restore.ts): the database converts both ways, so bytea,
 * microsecond times, numerics and arrays survive exactly, and JavaScript never parses them.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, link, open, rm, writeFile } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Sql, SqlTx } from '../store/types.ts';
import { BACKUP_FORMAT, HEADER_BYTES, encodeHeader, keyId, type BackupHeader } from './format.ts';

/** Rows per FETCH: a document snapshot can be large, so a batch stays modest. */
const FETCH_ROWS = 200;

export interface TableShape {
	name: string;
	/** Stored (not generated) columns, in table order. */
	columns: string[];
}

/** The first line of the content: what follows and how to put it back. */
export interface BackupManifest {
	accordBackup: typeof BACKUP_FORMAT;
	schemaVersion: number;
	/** Parents before children (foreign keys): the order rows are written and restored in. */
	tables: (TableShape & { rows: number })[];
	sequences: { name: string; lastValue: number; isCalled: boolean }[];
}

export const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

/** The app's tables (the connection's current schema), parents before children. */
export async function tableShapes(db: SqlTx | Sql): Promise<TableShape[]> {
	const columns = await db.query<{ table_name: string; column_name: string }>(
		`SELECT c.table_name, c.column_name
		   FROM information_schema.columns AS c
		   JOIN information_schema.tables AS t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		  WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.is_generated = 'NEVER'
		  ORDER BY c.table_name, c.ordinal_position`
	);
	const byTable = new Map<string, string[]>();
	for (const row of columns) {
		const list = byTable.get(row.table_name) ?? [];
		list.push(row.column_name);
		byTable.set(row.table_name, list);
	}
	const references = await db.query<{ child: string; parent: string }>(
		`SELECT child.relname AS child, parent.relname AS parent
		   FROM pg_constraint AS c
		   JOIN pg_class AS child ON child.oid = c.conrelid
		   JOIN pg_class AS parent ON parent.oid = c.confrelid
		   JOIN pg_namespace AS n ON n.oid = c.connamespace
		  WHERE c.contype = 'f' AND n.nspname = current_schema()`
	);
	return parentsFirst([...byTable.keys()].sort(), references).map((name) => ({ name, columns: byTable.get(name)! }));
}

/** Orders tables so that every table comes after those its foreign keys point at. */
function parentsFirst(tables: readonly string[], references: readonly { child: string; parent: string }[]): string[] {
	const parents = new Map(tables.map((t) => [t, new Set<string>()]));
	for (const { child, parent } of references) if (child !== parent && parents.has(child) && parents.has(parent)) parents.get(child)!.add(parent);
	const ordered: string[] = [];
	const placed = new Set<string>();
	const visiting = new Set<string>();
	const visit = (table: string): void => {
		if (placed.has(table)) return;
		if (visiting.has(table)) throw new Error(`tables ${[...visiting].join(', ')} reference each other in a cycle: no order restores them`);
		visiting.add(table);
		for (const parent of [...parents.get(table)!].sort()) visit(parent);
		visiting.delete(table);
		placed.add(table);
		ordered.push(table);
	};
	for (const table of tables) visit(table);
	return ordered;
}

export async function schemaVersionOf(db: SqlTx | Sql): Promise<number> {
	const [row] = await db.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
	return Number(row?.version ?? 0);
}

async function sequences(tx: SqlTx): Promise<BackupManifest['sequences']> {
	const names = await tx.query<{ name: string }>(
		'SELECT sequence_name AS name FROM information_schema.sequences WHERE sequence_schema = current_schema() ORDER BY sequence_name'
	);
	const result: BackupManifest['sequences'] = [];
	for (const { name } of names) {
		const [row] = await tx.query<{ last_value: number; is_called: boolean }>(`SELECT last_value, is_called FROM ${quote(name)}`);
		result.push({ name, lastValue: Number(row.last_value), isCalled: row.is_called });
	}
	return result;
}

/** The content's lines, read inside `tx`: the manifest, then `#table NAME` and its rows, then `#end N`. */
async function* contentLines(tx: SqlTx, manifest: BackupManifest): AsyncGenerator<string> {
	yield `${JSON.stringify(manifest)}\n`;
	let total = 0;
	for (const table of manifest.tables) {
		yield `#table ${table.name}\n`;
		const select = `SELECT row_to_json(r)::text AS j FROM (SELECT ${table.columns.map(quote).join(', ')} FROM ${quote(table.name)}) AS r`;
		await tx.query(`DECLARE accord_backup NO SCROLL CURSOR FOR ${select}`);
		let written = 0;
		for (;;) {
			const rows = await tx.query<{ j: string }>(`FETCH FORWARD ${FETCH_ROWS} FROM accord_backup`);
			if (rows.length === 0) break;
			written += rows.length;
			yield rows.map((row) => row.j).join('\n') + '\n';
			if (rows.length < FETCH_ROWS) break;
		}
		await tx.query('CLOSE accord_backup');
		// Counted in the same snapshot: a difference means the snapshot was not one.
		if (written !== table.rows) throw new Error(`table ${table.name}: counted ${table.rows} rows but read ${written}; the read was not consistent`);
		total += written;
	}
	yield `#end ${total}\n`;
}

/** Counts the bytes passing through and hashes them. */
class Checksum extends Transform {
	readonly hash = createHash('sha256');
	bytes = 0;
	override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
		this.hash.update(chunk);
		this.bytes += chunk.length;
		done(null, chunk);
	}
}

export interface BackupResult {
	file: string;
	header: BackupHeader;
	/** Bytes of the whole file. */
	bytes: number;
	/** How long the read transaction was open (ms): on PGlite, how long writes waited. */
	snapshotMs: number;
}

/**
 * Writes a backup of the database behind `sql` to `file` (created anew: an existing file is
 * refused). Written beside it under a temporary name and renamed once complete, so `file`
 * is never a partial backup.
 */
export async function writeBackup(sql: Sql, file: string, options: { key?: Buffer; now?: () => Date } = {}): Promise<BackupResult> {
	if (await exists(file)) throw new Error(`${file} exists already; a backup never replaces a file. Name a new one.`);
	const partial = `${file}.partial-${randomBytes(4).toString('hex')}`;
	// The header's place is kept, the content streamed after it, and the header written last.
	await writeFile(partial, Buffer.alloc(HEADER_BYTES, 0x20), { flag: 'wx' });
	let snapshotMs = 0;
	try {
		const iv = randomBytes(12);
		const cipher = options.key ? createCipheriv('aes-256-gcm', options.key, iv) : null;
		const checksum = new Checksum();
		const createdAt = (options.now?.() ?? new Date()).toISOString();
		const manifest = await sql.transaction(async (tx) => {
			const started = performance.now();
			await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
			const shapes = await tableShapes(tx);
			const tables: BackupManifest['tables'] = [];
			for (const shape of shapes) {
				const [row] = await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${quote(shape.name)}`);
				tables.push({ ...shape, rows: Number(row.n) });
			}
			const manifest: BackupManifest = { accordBackup: BACKUP_FORMAT, schemaVersion: await schemaVersionOf(tx), tables, sequences: await sequences(tx) };
			const out = createWriteStream(partial, { flags: 'r+', start: HEADER_BYTES });
			const stages = [Readable.from(contentLines(tx, manifest)), createGzip({ level: 6 }), ...(cipher ? [cipher] : []), checksum, out] as const;
			await pipeline(stages as unknown as [Readable, ...Transform[]]);
			snapshotMs = performance.now() - started;
			return manifest;
		});
		const header: BackupHeader = {
			format: BACKUP_FORMAT,
			schemaVersion: manifest.schemaVersion,
			createdAt,
			engine: sql.kind,
			compression: 'gzip',
			encryption: cipher ? { algorithm: 'aes-256-gcm', keyId: keyId(options.key!), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') } : null,
			contentBytes: checksum.bytes,
			contentSha256: checksum.hash.digest('hex'),
			tables: manifest.tables.map((t) => ({ name: t.name, rows: t.rows }))
		};
		const handle = await open(partial, 'r+');
		try {
			await handle.write(encodeHeader(header), 0, HEADER_BYTES, 0);
			await handle.sync();
		} finally {
			await handle.close();
		}
		// A link, not a rename: it fails if `file` appeared meanwhile, where a rename would replace it.
		await link(partial, file);
		await rm(partial, { force: true });
		return { file, header, bytes: HEADER_BYTES + checksum.bytes, snapshotMs };
	} catch (error) {
		await rm(partial, { force: true });
		throw error;
	}
}

async function exists(file: string): Promise<boolean> {
	return access(file).then(
		() => true,
		() => false
	);
}
