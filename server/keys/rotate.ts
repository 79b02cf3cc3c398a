/**
 * Key rotation: re-encrypts every stored value not under the newest data key (older keys,
 * or stored plain before a key was set) under the newest, while the server serves.
 *
 * Why it is safe beside a running server: each batch is its own short transaction, and
 * each row is written only if it is still what was read (compare-and-set: a snapshot by
 * its `snapshot_seq`, which every compaction raises; an update row is never rewritten,
 * only deleted by compaction; an audit value by its stored JSON). A row that changed
 * meanwhile was written by a server, under the newest key of that server's ring, and is
 * left alone. Why it resumes after a crash: nothing is kept about progress but the values'
 * own headers, which the next run scans for again (stored-keys.ts), skipping rows already
 * under the newest key in SQL. `audit_log` refuses updates (a trigger); a batch disables
 * that trigger inside its own transaction only, so no other session ever sees it off, and
 * the chain's hashes are over the plain values (server/audit/log-store.ts), so `audit verify` passes
 * before, during and after.
 */
import { DataKeyError, CLEAR_AUDIT_PATHS, SEALED_PREFIX, installedDataKeys, openAuditValue, openBytes, sealWith, storedAuditJson, type DataKeyRing } from '../crypto/data-key.ts';
import { describeCensus, keyCensus, type KeyCensus } from '../crypto/stored-keys.ts';
import type { Sql } from '../store/types.ts';
import type { Logger } from '../log.ts';

export interface RotationProgress {
	place: 'documents.snapshot' | 'document_updates.update' | 'audit_pending' | 'audit_log';
	/** Values re-encrypted so far, in all places. */
	resealed: number;
	/** Rows that changed between reading and writing (a server wrote them meanwhile, under its newest key). */
	skipped: number;
}

export interface RotationOptions {
	/** Count only; change nothing. */
	dryRun?: boolean;
	/** Rows per transaction (default 200). */
	batch?: number;
	/** Wait between batches, so a server sharing the database keeps its turn (the embedded one has one connection). */
	pauseMs?: number;
	onProgress?(progress: RotationProgress): void;
	/** Checked between batches: true stops (what is done stays done). */
	shouldStop?(): boolean;
}

export interface RotationResult {
	newestKeyId: string;
	before: KeyCensus;
	after: KeyCensus;
	resealed: number;
	skipped: number;
	/** Values still not under the newest key at the end (0 when done; a dry run changes nothing). */
	remaining: number;
	stopped: boolean;
}

const CLEAR_PATHS = [...CLEAR_AUDIT_PATHS];
/** How long a server lets its own start go first before re-encrypting in the background. */
const ROTATION_START_DELAY_MS = 3_000;

/** Values not under the newest key: what a rotation has left to do. */
export function remainingOf(census: KeyCensus, ring: DataKeyRing): number {
	return census.total - (census.byKey.get(ring.newest.id) ?? 0);
}

export async function rotateDataKeys(sql: Sql, options: RotationOptions = {}): Promise<RotationResult> {
	const ring = installedDataKeys();
	if (!ring) throw new DataKeyError('No data key is set: set ACCORD_DATA_KEY (or ACCORD_DATA_KEY_FILE), the newest key last, to rotate to it.');
	const batch = Math.max(1, options.batch ?? 200);
	const before = await keyCensus(sql);
	const result: RotationResult = { newestKeyId: ring.newest.id, before, after: before, resealed: 0, skipped: 0, remaining: remainingOf(before, ring), stopped: false };
	if (options.dryRun || result.remaining === 0) return result;

	const header = Buffer.concat([SEALED_PREFIX, Buffer.from(ring.newest.id, 'hex')]);
	const stop = () => {
		if (options.shouldStop?.()) result.stopped = true;
		return result.stopped;
	};
	const pause = () => (options.pauseMs ? new Promise((resolve) => setTimeout(resolve, options.pauseMs)) : Promise.resolve());
	const report = (place: RotationProgress['place']) => options.onProgress?.({ place, resealed: result.resealed, skipped: result.skipped });
	const reseal = (stored: Uint8Array) => sealWith(ring.newest, openBytes(stored));

	// Rows written meanwhile under an older key (a server not yet restarted with the new ring) need another pass; three at most.
	for (let pass = 0; pass < 3 && !stop(); pass++) {
		const startedWith = result.resealed;

		// Snapshots, in id order.
		for (let after = '00000000-0000-0000-0000-000000000000'; !stop(); ) {
			const rows = await sql.query<{ id: string; snapshot: Uint8Array; snapshot_seq: string | number }>(
				`SELECT id::text AS id, snapshot, snapshot_seq FROM documents
				  WHERE id > $1::uuid AND snapshot IS NOT NULL AND substring(snapshot from 1 for 12) IS DISTINCT FROM $2::bytea
				  ORDER BY id LIMIT $3`,
				[after, header, batch]
			);
			if (rows.length === 0) break;
			await sql.transaction(async (tx) => {
				for (const row of rows) {
					const written = await tx.query('UPDATE documents SET snapshot = $2 WHERE id = $1::uuid AND snapshot_seq = $3 RETURNING id', [row.id, reseal(row.snapshot), row.snapshot_seq]);
					if (written.length > 0) result.resealed++;
					else result.skipped++;
				}
			});
			after = rows[rows.length - 1].id;
			report('documents.snapshot');
			await pause();
		}

		// The update log, in (document, seq) order.
		for (let after = { id: '00000000-0000-0000-0000-000000000000', seq: 0 }; !stop(); ) {
			const rows = await sql.query<{ id: string; seq: string | number; update: Uint8Array }>(
				`SELECT document_id::text AS id, seq, update FROM document_updates
				  WHERE (document_id, seq) > ($1::uuid, $2::bigint) AND substring(update from 1 for 12) IS DISTINCT FROM $3::bytea
				  ORDER BY document_id, seq LIMIT $4`,
				[after.id, after.seq, header, batch]
			);
			if (rows.length === 0) break;
			await sql.transaction(async (tx) => {
				for (const row of rows) {
					// Update rows are never rewritten, only deleted by compaction: gone is the only change to expect.
					const written = await tx.query('UPDATE document_updates SET update = $3 WHERE document_id = $1::uuid AND seq = $2 RETURNING seq', [row.id, row.seq, reseal(row.update)]);
					if (written.length > 0) result.resealed++;
					else result.skipped++;
				}
			});
			const last = rows[rows.length - 1];
			after = { id: last.id, seq: Number(last.seq) };
			report('document_updates.update');
			await pause();
		}

		for (const table of ['audit_pending', 'audit_log'] as const) {
			for (let after = 0; !stop(); ) {
				const rows = await sql.query<{ id: string | number; path: string; before: unknown; after: unknown; conflict: unknown }>(
					`SELECT id, path, before, after, conflict FROM ${table}
					  WHERE id > $1 AND NOT (path = ANY($2::text[]))
					    AND (${['before', 'after', 'conflict'].map((c) => `(${c} IS NOT NULL AND NOT (jsonb_typeof(${c}) = 'string' AND starts_with(${c} #>> '{}', $3)))`).join(' OR ')})
					  ORDER BY id LIMIT $4`,
					[after, CLEAR_PATHS, `\u0001${header.toString('base64')}`, batch]
				);
				if (rows.length === 0) break;
				await sql.transaction(async (tx) => {
					if (table === 'audit_log') await tx.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
					for (const row of rows) {
						const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
						const written = await tx.query(
							`UPDATE ${table} SET before = $2::jsonb, after = $3::jsonb, conflict = $4::jsonb
							  WHERE id = $1 AND before IS NOT DISTINCT FROM $5::jsonb AND after IS NOT DISTINCT FROM $6::jsonb AND conflict IS NOT DISTINCT FROM $7::jsonb
							  RETURNING id`,
							[
								row.id,
								storedAuditJson(openAuditValue(row.before), row.path),
								storedAuditJson(openAuditValue(row.after), row.path),
								storedAuditJson(openAuditValue(row.conflict), row.path),
								json(row.before),
								json(row.after),
								json(row.conflict)
							]
						);
						if (written.length > 0) result.resealed += [row.before, row.after, row.conflict].filter((v) => v !== null && v !== undefined).length;
						else result.skipped++;
					}
					if (table === 'audit_log') await tx.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
				});
				after = Number(rows[rows.length - 1].id);
				report(table);
				await pause();
			}
		}
		result.after = await keyCensus(sql);
		result.remaining = remainingOf(result.after, ring);
		if (result.remaining === 0 || result.resealed === startedWith) break;
	}
	return result;
}

/**
 * Run by a server on the embedded database at start when values are stored under older
 * keys or plain (PGlite serves one process, so this is how rotation runs while it serves;
 * on Postgres `keys rotate` does it from outside, and `run` false only warns). Paced,
 * logged, stopped by close(); what is done stays done, and the next start resumes.
 */
export function startBackgroundRotation(sql: Sql, census: KeyCensus, log: Logger, run: boolean): { stop(): Promise<void> } {
	const ring = installedDataKeys();
	if (!ring || remainingOf(census, ring) === 0) return { stop: async () => {} };
	if (!run) {
		log.warn(`${remainingOf(census, ring)} stored value(s) are not under the newest data key ${ring.newest.id}: run npm run accord -- keys rotate`, { census: describeCensus(census, ring) });
		return { stop: async () => {} };
	}
	log.info(`re-encrypting stored values under data key ${ring.newest.id} in the background`, { census: describeCensus(census, ring) });
	let stopping = false;
	let lastLog = 0;
	// The embedded database has one connection: the start (and the first clients) go first,
	// then small batches with pauses between them, so a request waits for one batch at most.
	let wake: () => void = () => {};
	const startDelay = new Promise<void>((resolve) => {
		wake = resolve;
		setTimeout(resolve, ROTATION_START_DELAY_MS).unref();
	});
	const running = startDelay.then(() => rotateDataKeys(sql, {
		batch: 50,
		pauseMs: 50,
		shouldStop: () => stopping,
		onProgress: (progress) => {
			if (Date.now() - lastLog < 5_000) return;
			lastLog = Date.now();
			log.info('re-encrypting', { ...progress });
		}
	}))
		.then((result) => {
			if (result.stopped) log.info('re-encryption paused by shutdown; the next start resumes it', { resealed: result.resealed });
			else log.info(`re-encryption done: ${describeCensus(result.after, ring)}`, { resealed: result.resealed, skipped: result.skipped, remaining: result.remaining });
		})
		.catch((error: Error) => log.error('re-encryption failed; the next start resumes it', { error: error.message }));
	return {
		async stop() {
			stopping = true;
			wake();
			await running;
		}
	};
}
