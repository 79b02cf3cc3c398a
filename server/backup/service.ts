/**
 * Backups taken by the running server: for an admin who asks (`GET /api/admin/backup`,
 * which `npm run accord -- backup FILE --server URL` calls, so an embedded database is
 * backed up while it serves) and on a schedule (ACCORD_BACKUP_DIR, ACCORD_BACKUP_EVERY,
 * ACCORD_BACKUP_KEEP), whose last success and failure `/healthz` reports.
 *
 * Each backup is written whole to a file first and only then streamed: the read
 * transaction lasts as long as the local write, not as long as a slow download (on
 * PGlite, writes wait for that transaction).
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Actor } from '../../src/lib/access.ts';
import { ForbiddenError, type BackupDownload, type BackupHealth } from '../../src/lib/server/services.ts';
import type { Logger } from '../log.ts';
import type { Sql } from '../store/types.ts';
import { writeBackup, type BackupResult } from './dump.ts';
import { BACKUP_FILE_PATTERN, backupFileName } from './format.ts';

/** Thrown when a backup is asked for while one is being written; routes answer 409. */
export class BackupBusyError extends Error {
	readonly status = 409;
	override readonly name = 'BackupBusyError';
}

/** A backup asked for while another is written waits for it; more than this many waiting are refused (409). */
const MAX_WAITING = 2;

export interface BackupServiceOptions {
	sql: Sql;
	key?: Buffer;
	log: Logger;
	schedule?: { dir: string; everyMs: number; keep: number };
}

export interface BackupService {
	download(actor: Actor): Promise<BackupDownload>;
	/** Writes one scheduled backup now (the timer calls this too) and prunes old ones. */
	runScheduled(): Promise<BackupResult | null>;
	health(): BackupHealth | undefined;
	start(): Promise<void>;
	close(): Promise<void>;
}

export function createBackupService(options: BackupServiceOptions): BackupService {
	const { sql, key, log, schedule } = options;
	/** One backup at a time per instance: each holds a transaction and a file's worth of disk. */
	let running: Promise<unknown> | null = null;
	let timer: NodeJS.Timeout | undefined;
	let closed = false;
	const state: BackupHealth = { lastSuccessAt: null, lastFailure: null, nextAt: null };

	/** Callers waiting for the backup being written to finish, at most MAX_WAITING. */
	let waiting = 0;
	async function exclusive<T>(work: () => Promise<T>): Promise<T> {
		if (running) {
			if (waiting >= MAX_WAITING) throw new BackupBusyError('Several backups are being written or waiting right now; try again when they are done.');
			waiting++;
			try {
				while (running) await running.catch(() => undefined);
			} finally {
				waiting--;
			}
		}
		const promise = work();
		running = promise;
		try {
			return await promise;
		} finally {
			running = null;
		}
	}

	async function prune(dir: string, keep: number): Promise<void> {
		const names = (await readdir(dir)).filter((name) => BACKUP_FILE_PATTERN.test(name)).sort();
		for (const name of names.slice(0, Math.max(0, names.length - keep))) await rm(join(dir, name), { force: true });
	}

	function plan(): void {
		if (!schedule || closed) return;
		state.nextAt = new Date(Date.now() + schedule.everyMs).toISOString();
		timer = setTimeout(() => {
			void runScheduled()
				.catch(() => undefined)
				.finally(plan);
		}, schedule.everyMs);
		timer.unref();
	}

	async function runScheduled(): Promise<BackupResult | null> {
		if (!schedule) return null;
		try {
			const result = await exclusive(async () => {
				await mkdir(schedule.dir, { recursive: true });
				const written = await writeBackup(sql, join(schedule.dir, backupFileName(new Date())), { key });
				await prune(schedule.dir, schedule.keep);
				return written;
			});
			state.lastSuccessAt = result.header.createdAt;
			state.lastFailure = null;
			log.info('backup written', { file: result.file, bytes: result.bytes, snapshotMs: Math.round(result.snapshotMs) });
			return result;
		} catch (error) {
			const message = (error as Error).message;
			state.lastFailure = { at: new Date().toISOString(), message };
			log.error('scheduled backup failed', { error: message });
			throw error;
		}
	}

	return {
		async download(actor) {
			if (actor.role !== 'admin') throw new ForbiddenError('Only admins can take a backup.');
			return exclusive(async () => {
				const dir = await mkdtemp(join(tmpdir(), 'accord-backup-'));
				const file = join(dir, backupFileName(new Date()));
				try {
					const result = await writeBackup(sql, file, { key });
					log.info('backup taken for download', { by: actor.id, bytes: result.bytes, snapshotMs: Math.round(result.snapshotMs) });
					return { filename: backupFileName(new Date(result.header.createdAt)), bytes: result.bytes, body: streamThenRemove(file, dir) };
				} catch (error) {
					await rm(dir, { recursive: true, force: true });
					throw error;
				}
			});
		},
		runScheduled,
		health: () => (schedule ? { ...state } : undefined),
		async start() {
			if (!schedule) return;
			// After a restart, the newest file in the directory says when the last backup succeeded.
			try {
				const names = (await readdir(schedule.dir)).filter((name) => BACKUP_FILE_PATTERN.test(name)).sort();
				if (names.length > 0) state.lastSuccessAt = (await stat(join(schedule.dir, names.at(-1)!))).mtime.toISOString();
			} catch {
				// No directory yet: made by the first backup.
			}
			plan();
		},
		async close() {
			closed = true;
			clearTimeout(timer);
			await running?.catch(() => undefined);
		}
	};
}

/** The file's bytes; the file and its directory are removed once read, or when the reader stops early. */
async function* streamThenRemove(file: string, dir: string): AsyncGenerator<Uint8Array> {
	try {
		for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) yield chunk as Buffer;
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}
