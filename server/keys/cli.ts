/**
 * `npm run accord -- keys …`: the data keys of encryption at rest (server/crypto/data-key.ts).
 *
 *   keys new                       prints a fresh key as `id:base64`, the form ACCORD_DATA_KEY takes
 *   keys status                    how many stored values are under which key, and which are plain
 *   keys rotate [--dry-run]        re-encrypts every value under the newest key (the last listed),
 *               [--batch N]        in batches of N rows (200); on Postgres while the server serves;
 *               [--pause MS]       MS between batches, to spare a busy database; resumable after a crash
 *
 * The embedded database (PGlite) serves one process: with it, `status` and `rotate` need
 * the server stopped, and a running server rotates by itself at start (rotate.ts).
 */
import type { AccordConfig } from '../config.ts';
import { formatDataKey, installDataKeys, newDataKey } from '../crypto/data-key.ts';
import { checkStoredKeys, describeCensus } from '../crypto/stored-keys.ts';
import { openPglite, openPostgres } from '../store/sql.ts';
import { migrate } from '../store/migrations.ts';
import type { Sql } from '../store/types.ts';
import { remainingOf, rotateDataKeys } from './rotate.ts';
import { join } from 'node:path';

export class KeysCommandFailed extends Error {
	override readonly name = 'KeysCommandFailed';
}

export function newKeyCommand(out: NodeJS.WritableStream): void {
	out.write(`${formatDataKey(newDataKey())}\n`);
}

async function openSql(config: AccordConfig): Promise<Sql> {
	try {
		return config.databaseUrl ? await openPostgres(config.databaseUrl, { max: 2 }) : await openPglite(join(config.dataDir, 'pglite'));
	} catch (error) {
		throw new KeysCommandFailed(
			config.databaseUrl
				? `Cannot open the database at DATABASE_URL: ${(error as Error).message}`
				: `Cannot open the embedded database in ${config.dataDir}: ${(error as Error).message}\nIs Accord running? Stop it first (it re-encrypts by itself at start), or use Postgres.`
		);
	}
}

export async function keysCommand(
	verb: 'status' | 'rotate',
	config: AccordConfig,
	options: { dryRun: boolean; batch?: number; pauseMs?: number },
	out: NodeJS.WritableStream
): Promise<void> {
	const ring = config.dataKeys;
	if (verb === 'rotate' && !ring) throw new KeysCommandFailed('No data key is set: list the keys in ACCORD_DATA_KEY (or ACCORD_DATA_KEY_FILE), the new one last, then rotate.');
	installDataKeys(ring);
	const sql = await openSql(config);
	try {
		// The same check as a start: a key missing from the ring refuses, changing nothing.
		const census = await checkStoredKeys(sql, ring).catch((error: Error) => {
			throw new KeysCommandFailed(error.message);
		});
		if (verb === 'status' || options.dryRun) {
			out.write(`${describeCensus(census, ring)}.\n`);
			if (ring) {
				const remaining = remainingOf(census, ring);
				out.write(
					remaining === 0
						? `Everything is under the newest key ${ring.newest.id}.${ring.keys.length > 1 ? ' The older keys may be removed from ACCORD_DATA_KEY.' : ''}\n`
						: `${remaining} value(s) to re-encrypt under ${ring.newest.id}${options.dryRun ? ' (dry run: nothing changed)' : ': npm run accord -- keys rotate'}.\n`
				);
			} else out.write('No data key is set: values are stored unencrypted.\n');
			return;
		}
		// Rotation writes: the schema must be the current one (as a start would make it).
		await migrate(sql);
		const started = performance.now();
		let lastLine = -Infinity;
		out.write(`Re-encrypting under data key ${ring!.newest.id}: ${describeCensus(census, ring)}.\n`);
		const result = await rotateDataKeys(sql, {
			batch: options.batch,
			pauseMs: options.pauseMs,
			onProgress: (progress) => {
				// The first batch at once (a person sees it started), then at most one line a second.
				if (performance.now() - lastLine < 1_000) return;
				lastLine = performance.now();
				out.write(`  ${progress.place}: ${progress.resealed} re-encrypted${progress.skipped ? `, ${progress.skipped} changed meanwhile (left as the server wrote them)` : ''}\n`);
			}
		});
		out.write(
			`Done in ${Math.round(performance.now() - started)} ms: ${result.resealed} value(s) re-encrypted; now ${describeCensus(result.after, ring)}.\n` +
				(result.remaining === 0
					? `Everything is under ${ring!.newest.id}.${ring!.keys.length > 1 ? ' Once every instance runs with this ring, the older keys may be removed (keep them for backups taken before).' : ''}\n`
					: `${result.remaining} value(s) are still under an older key: an instance still writes with one? Restart every instance with the new ring, then run this again.\n`)
		);
	} finally {
		await sql.close();
	}
}
