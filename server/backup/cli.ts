/**
 * The command-line side of backups and data-subject requests, called by server/cli.ts:
 *
 *   backup FILE                  reads the database directly: Postgres at any time (one
 *                                REPEATABLE READ snapshot); the embedded database only with
 *                                the server stopped (PGlite serves one process)
 *   backup FILE --server URL     asks the running server (GET /api/admin/backup, an admin
 *                                API token in ACCORD_TOKEN): the way to back up PGlite while it serves
 *   restore FILE                 into an empty database (DATABASE_URL, or DATA_DIR's PGlite)
 *   subject export RECORD_ID     the record's data-subject export as JSON on stdout
 */
import { createWriteStream } from 'node:fs';
import { access, link, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { randomBytes } from 'node:crypto';
import type { AccordConfig } from '../config.ts';
import { openDatabase } from '../database.ts';
import { openPglite, openPostgres } from '../store/sql.ts';
import type { Sql } from '../store/types.ts';
import { storedSubjectSources, subjectExport } from '../subject.ts';
import { writeBackup } from './dump.ts';
import { BackupFileError, backupReadKey, backupWriteKey } from './format.ts';
import { RestoreRefused, checkBackupFile, checkBackupKey, restoreBackup } from './restore.ts';

/** A failure to tell the operator in words, exit code 1, no stack. */
export class CommandFailed extends Error {
	override readonly name = 'CommandFailed';
}

async function openSql(config: AccordConfig): Promise<Sql> {
	try {
		return config.databaseUrl ? await openPostgres(config.databaseUrl, { max: 2 }) : await openPglite(join(config.dataDir, 'pglite'));
	} catch (error) {
		const message = (error as Error).message;
		throw new CommandFailed(
			config.databaseUrl
				? `Cannot open the database at DATABASE_URL: ${message}`
				: `Cannot open the embedded database in ${config.dataDir}: ${message}\nIs Accord running? Stop it first, or take the backup through it: backup FILE --server URL.`
		);
	}
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export async function backupCommand(config: AccordConfig, file: string, server: string | undefined, out: NodeJS.WritableStream): Promise<void> {
	if (await access(file).then(() => true, () => false)) throw new CommandFailed(`${file} exists already; a backup never replaces a file. Name a new one.`);
	if (server) return backupFromServer(server, file, out);
	const sql = await openSql(config);
	try {
		const result = await writeBackup(sql, file, { key: backupWriteKey(config.backupKeys) });
		const rows = result.header.tables.reduce((sum, t) => sum + t.rows, 0);
		out.write(
			`Wrote ${file}: ${kb(result.bytes)}, ${result.header.tables.length} tables, ${rows} rows, schema version ${result.header.schemaVersion}, ` +
				`${result.header.encryption ? `encrypted (key id ${result.header.encryption.keyId})` : 'not encrypted (set ACCORD_BACKUP_KEY to encrypt)'}; ` +
				`snapshot held ${Math.round(result.snapshotMs)} ms.\n`
		);
	} finally {
		await sql.close();
	}
}

async function backupFromServer(server: string, file: string, out: NodeJS.WritableStream): Promise<void> {
	const token = process.env.ACCORD_TOKEN;
	if (!token) throw new CommandFailed('Set ACCORD_TOKEN to an admin API token of that server (npm run accord -- token create --role admin --name backups).');
	let url: URL;
	try {
		url = new URL('/api/admin/backup', server);
	} catch {
		throw new CommandFailed(`--server must be the server's address, such as http://127.0.0.1:3000, not "${server}".`);
	}
	let response: Response;
	try {
		response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
	} catch (error) {
		throw new CommandFailed(`Cannot reach ${url.origin}: ${(error as Error).message}`);
	}
	if (!response.ok || !response.body) {
		const text = await response.text().catch(() => '');
		let message = text;
		try {
			message = (JSON.parse(text) as { message?: string }).message ?? text;
		} catch {
			// Not JSON: the text as it came.
		}
		throw new CommandFailed(`The server refused the backup (${response.status}): ${message.slice(0, 500)}`);
	}
	const partial = `${file}.partial-${randomBytes(4).toString('hex')}`;
	try {
		await pipeline(Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>), createWriteStream(partial, { flags: 'wx' }));
		// Checked as a restore would check it before it is called a backup.
		const header = await checkBackupFile(partial);
		await link(partial, file);
		const rows = header.tables.reduce((sum, t) => sum + t.rows, 0);
		out.write(`Wrote ${file} from ${url.origin}: ${header.tables.length} tables, ${rows} rows, schema version ${header.schemaVersion}, ${header.encryption ? `encrypted (key id ${header.encryption.keyId})` : 'not encrypted'}.\n`);
	} catch (error) {
		if (error instanceof BackupFileError) throw new CommandFailed(`The backup received from ${url.origin} is not complete: ${error.message}`);
		throw error;
	} finally {
		await rm(partial, { force: true });
	}
}

export async function restoreCommand(config: AccordConfig, file: string, out: NodeJS.WritableStream): Promise<void> {
	let key: Buffer | undefined;
	try {
		// The file first: a damaged one is refused without opening (or creating) any database.
		const header = await checkBackupFile(file);
		// Then the key: the one of the ring whose id the backup names.
		key = backupReadKey(config.backupKeys, header);
		checkBackupKey(header, key ?? null);
	} catch (error) {
		throw new CommandFailed((error as Error).message);
	}
	const sql = await openSql(config);
	try {
		const started = performance.now();
		const result = await restoreBackup(sql, file, { key });
		const target = config.databaseUrl ? 'the Postgres database at DATABASE_URL' : `the embedded database in ${config.dataDir}`;
		out.write(
			`Restored ${file} (taken ${result.header.createdAt} from ${result.header.engine}, schema version ${result.header.schemaVersion}) into ${target}: ` +
				`${result.tables} tables, ${result.rows} rows in ${Math.round(performance.now() - started)} ms.` +
				(result.migratedAfter.length > 0 ? ` Then applied migrations ${result.migratedAfter.join(', ')}.` : '') +
				'\nCheck it with: npm run accord -- audit verify\n'
		);
	} catch (error) {
		if (error instanceof RestoreRefused || error instanceof BackupFileError) throw new CommandFailed(error.message);
		throw error;
	} finally {
		await sql.close();
	}
}

export async function subjectExportCommand(config: AccordConfig, recordId: string, workspace: string, out: NodeJS.WritableStream): Promise<void> {
	const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 }).catch((error: Error) => {
		throw new CommandFailed(
			config.databaseUrl
				? `Cannot open the database at DATABASE_URL: ${error.message}`
				: `Cannot open the embedded database in ${config.dataDir}: ${error.message}\nIs Accord running? Stop it first, or ask it: GET /api/records/${recordId}/subject-export.`
		);
	});
	try {
		const by = { id: 'cli', name: 'Command line' };
		const exported = await subjectExport(storedSubjectSources(database, workspace), recordId, by);
		if (!exported) throw new CommandFailed(`There is no record ${recordId} in workspace ${workspace}.`);
		await database.audit.stage([
			{ workspace, recordId: exported.recordId, at: exported.exportedAt, actor: by, source: 'api', relayedBy: null, path: 'record', op: 'export', before: null, after: null, conflict: null }
		]);
		out.write(`${JSON.stringify(exported, null, 2)}\n`);
	} finally {
		await database.close();
	}
}
