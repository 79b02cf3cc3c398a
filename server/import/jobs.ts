/**
 * Imports as jobs on the server (`POST /api/import?job=1`): the upload is spooled to a
 * file under the system's temp directory, the import then runs from that file on the
 * server whether or not the page that sent it stays open, and the job's progress (rows
 * done, rate, time left) is written to the database about once a second, where every
 * instance reads it for everyone in the workspace (GET /api/import/jobs). Bounded: one
 * running import per workspace (a unique index holds it across instances), and the
 * files of only the last few jobs are kept.
 *
 * A job can be cancelled (from any instance: the request is read with the next progress
 * write) and stops between batches, so only whole batches are written; its report says
 * the last row written. Rejected rows go to a CSV file with a reason column. Every
 * record it created or changed is kept with what it was before (in the transaction
 * that creates it, or ahead of the change: see service.ts), so an admin can undo the
 * import in one action, whatever stopped it: records it created are archived (out of
 * lists), records it updated get their earlier values back, its merges are undone;
 * each change audited.
 */
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import os from 'node:os';
import path from 'node:path';
import Papa from 'papaparse';
import { canAdminister, canEdit, type Actor } from '../../src/lib/access.ts';
import { addTag, canonicalRecordId, fieldsOf, isRecordDoc, newId, notesOf, removeTag, setArchived, setField, spliceText, tagsOf, type CustomerRecord } from '../../src/lib/model/record.ts';
import { neutraliseCell } from '../../src/lib/io/mapping.ts';
import { ForbiddenError, type MergeService } from '../../src/lib/server/services.ts';
import type { Rooms } from '../sync/rooms.ts';
import type { Logger } from '../log.ts';
import { FileTooLargeError, type ReadRow } from './read.ts';
import type { ImportReport } from './run.ts';
import type { ImportRunOptions, ImportService, UndoNotes } from './service.ts';
import type { JobProgress, JobRow, JobStore } from './job-store.ts';

/** How often, at most, a running job writes its progress (and hears of a cancel). */
const PROGRESS_EVERY_MS = 1000;
/** Jobs whose files (upload, rejected rows) are kept on this instance; older ones' are removed. */
const KEPT_JOB_FILES = 5;
/** Jobs listed by GET /api/import/jobs. */
export const LISTED_JOBS = 10;

export class ImportBusyError extends Error {
	override readonly name = 'ImportBusyError';
	constructor(readonly running: JobRow | null) {
		super(
			running
				? `${running.startedBy.name} is importing ${running.fileName} into this workspace; one import runs at a time. Wait for it to finish, or cancel it.`
				: 'Another import is running in this workspace; one import runs at a time.'
		);
	}
}

/** A job as the API shows it. */
export interface ImportJobView extends Omit<JobRow, 'report'> {
	report: ImportReport | null;
	/** Whether this instance holds its file of rejected rows (GET …/rejected). */
	rejectedFile: boolean;
}

export type UndoImportResult = { ok: true; archived: number; restored: number; mergesUndone: number } | { ok: false; status: 404 | 409; message: string };

export interface ImportJobsDeps {
	workspace: string;
	jobs: JobStore;
	imports: ImportService;
	rooms: Pick<Rooms, 'acquire' | 'release' | 'writer' | 'projected'>;
	merges: Pick<MergeService, 'undo'>;
	log: Logger;
	/** Where job files go (the system's temp directory by default). */
	dir?: string;
}

const emptyProgress = (bytesTotal: number): JobProgress => ({
	rowsRead: 0,
	created: 0,
	updated: 0,
	merged: 0,
	skipped: 0,
	unchanged: 0,
	rejected: 0,
	writtenThrough: null,
	bytesRead: 0,
	bytesTotal,
	rate: 0,
	secondsLeft: null
});

/** Writes the body to `file`, refusing it past `maxBytes`; returns its size. */
/**
 * Records an undo changes at once. One after another, each waited for its own commit and
 * list row (about 27 records/s on Postgres: over an hour for 100,000); together, the
 * group commit stores them in one transaction. Bounded, so an undo loads at most this
 * many rooms at a time.
 */
const UNDO_AT_ONCE = 32;

/** Runs `work` on every item, at most `limit` at a time; the first failure is thrown once all started work has ended, and no new work starts after it. */
async function eachAtMost<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	let failure: { error: unknown } | null = null;
	const worker = async (): Promise<void> => {
		while (failure === null && next < items.length) {
			const item = items[next++];
			try {
				await work(item);
			} catch (error) {
				failure ??= { error };
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	if (failure !== null) throw (failure as { error: unknown }).error;
}

async function spool(body: AsyncIterable<Uint8Array>, file: string, maxBytes: number): Promise<number> {
	const out = createWriteStream(file);
	let size = 0;
	try {
		for await (const chunk of body) {
			size += chunk.byteLength;
			if (size > maxBytes) throw new FileTooLargeError(maxBytes);
			if (!out.write(chunk)) await once(out, 'drain');
		}
		out.end();
		await finished(out);
		return size;
	} catch (error) {
		out.destroy();
		throw error;
	}
}

/** A CSV of the rejected rows: the row number, the reason, then the file's own columns (cells neutralised, as exports are). */
class RejectedRows {
	private headers: string[] | null = null;
	private readonly out: WriteStream;
	count = 0;
	constructor(readonly file: string) {
		this.out = createWriteStream(file);
		this.out.write('\ufeff');
	}
	add(row: ReadRow, reason: string): void {
		if (!this.headers) {
			this.headers = [...row.cells.keys()].filter((header) => header !== '#extra');
			this.out.write(`${Papa.unparse([['row', 'reason', ...this.headers]], { newline: '\r\n' })}\r\n`);
		}
		const cells = this.headers.map((header) => {
			const cell = row.cells.get(header);
			return neutraliseCell(cell === undefined || cell === null ? '' : Array.isArray(cell) ? cell.join(', ') : String(cell));
		});
		this.out.write(`${Papa.unparse([[String(row.row), neutraliseCell(reason), ...cells]], { newline: '\r\n' })}\r\n`);
		this.count++;
	}
	async close(): Promise<void> {
		this.out.end();
		await finished(this.out);
	}
}

export function createImportJobs({ workspace, jobs, imports, rooms, merges, log, dir = os.tmpdir() }: ImportJobsDeps) {
	/** Jobs running on this instance: a cancel asked here is seen at the next batch without waiting for the database. */
	const running = new Map<string, { cancel: boolean; done: Promise<void> }>();
	/** This instance's job directories, oldest first. */
	const kept: Array<{ id: string; dir: string }> = [];

	const jobDir = (id: string) => kept.find((job) => job.id === id)?.dir ?? null;

	function viewOf(row: JobRow): ImportJobView {
		const rejected = jobDir(row.id);
		let rejectedFile = false;
		if (rejected) {
			try {
				rejectedFile = statSync(path.join(rejected, 'rejected.csv')).size > 0 && row.progress.rejected > 0 && row.status !== 'running';
			} catch {
				rejectedFile = false;
			}
		}
		return { ...row, report: row.report ? (JSON.parse(row.report) as ImportReport) : null, rejectedFile };
	}

	function keep(id: string, jobPath: string): void {
		kept.push({ id, dir: jobPath });
		while (kept.length > KEPT_JOB_FILES) rmSync(kept.shift()!.dir, { recursive: true, force: true });
	}

	async function run(actor: Actor, id: string, upload: string, size: number, options: Omit<ImportRunOptions, 'dryRun'>, rejected: RejectedRows): Promise<void> {
		const started = Date.now();
		let bytesRead = 0;
		let lastWrite = 0;
		let report: ImportReport | null = null;
		/** The import's report as of its last written batch: what a failure leaves written. */
		let soFar: ImportReport | null = null;
		const state = running.get(id)!;
		const progressOf = (r: Pick<ImportReport, 'rowsRead' | 'created' | 'updated' | 'merged' | 'skipped' | 'unchanged' | 'rejected' | 'writtenThrough'>): JobProgress => {
			const seconds = (Date.now() - started) / 1000;
			const rate = seconds > 0 ? r.rowsRead / seconds : 0;
			const secondsLeft = bytesRead > 0 && seconds > 0 ? Math.max(0, Math.round((seconds * (size - bytesRead)) / bytesRead)) : null;
			return { rowsRead: r.rowsRead, created: r.created, updated: r.updated, merged: r.merged, skipped: r.skipped, unchanged: r.unchanged, rejected: r.rejected, writtenThrough: r.writtenThrough, bytesRead, bytesTotal: size, rate: Math.round(rate), secondsLeft };
		};
		async function* counted(): AsyncGenerator<Uint8Array> {
			for await (const chunk of createReadStream(upload)) {
				bytesRead += (chunk as Buffer).byteLength;
				yield chunk as Buffer;
			}
		}
		let pendingProgress: Promise<void> = Promise.resolve();
		/** The job's undo list, kept with the changes themselves (job-store.ts). */
		const undoNotes: UndoNotes = {
			created: (ids) => jobs.notesWith(id, ids.map((recordId) => ({ recordId, kind: 'created', before: null }))),
			updating: (recordId, before) => jobs.records(id, [{ recordId, kind: 'updated', before }]),
			merging: (mergeId) => jobs.notesWith(id, [{ recordId: mergeId, kind: 'merge', before: null }])
		};
		try {
			report = await imports.run(actor, counted(), {
				...options,
				dryRun: false,
				job: id,
				// A workbook is read in place from the spooled upload, its parts in the order they are needed: progress is how far through the sheet.
				sourceFile: upload,
				readProgress: (fraction) => (bytesRead = Math.round(fraction * size)),
				cancelled: () => state.cancel,
				rejectedRow: (row, reason) => rejected.add(row, reason),
				undoNotes,
				progress: (so) => {
					soFar = so;
					if (Date.now() - lastWrite < PROGRESS_EVERY_MS) return;
					lastWrite = Date.now();
					pendingProgress = pendingProgress
						.then(() => jobs.progress(id, progressOf(so)))
						.then((asked) => {
							if (asked) state.cancel = true;
						})
						.catch((error: Error) => log.warn('an import job could not write its progress', { job: id, error: error.message }));
				}
			});
			await pendingProgress;
			bytesRead = size;
			await rejected.close();
			await jobs.finish(id, report.cancelled ? 'cancelled' : 'done', progressOf(report), JSON.stringify(report));
		} catch (error) {
			await pendingProgress;
			await rejected.close().catch(() => undefined);
			const message = (error as Error).message;
			log.warn('an import job failed', { job: id, error: message });
			// What was written before the failure stays said (whole batches, up to `writtenThrough`): the undo takes exactly that back.
			const failed: JobProgress = soFar ? { ...progressOf(soFar), secondsLeft: null } : { ...emptyProgress(size), bytesRead };
			await jobs.finish(id, 'failed', failed, JSON.stringify({ message })).catch((e: Error) => log.error('an import job could not be marked failed', { job: id, error: e.message }));
		} finally {
			rmSync(upload, { force: true });
		}
	}

	/** Writes a record back to what it was before the import changed it (fields, tags and notes: what an import writes). */
	function restore(doc: Parameters<typeof fieldsOf>[0], before: CustomerRecord): void {
		const fields = fieldsOf(doc);
		for (const key of [...fields.keys()]) if (!(key in before.fields)) fields.delete(key);
		for (const [key, value] of Object.entries(before.fields)) if (JSON.stringify(fields.get(key)) !== JSON.stringify(value)) setField(doc, key, value);
		const tags = new Set(before.tags);
		for (const tag of [...tagsOf(doc).keys()]) if (!tags.has(tag)) removeTag(doc, tag);
		for (const tag of before.tags) addTag(doc, tag);
		spliceText(notesOf(doc), before.notes ?? '');
	}

	return {
		/** Fails jobs an instance left running when it stopped (called at start). */
		recover: () => jobs.failAbandoned(workspace),

		/**
		 * Spools the upload and starts the job; answers once the file is here, with the
		 * job running. ImportBusyError when one is running already.
		 */
		async start(actor: Actor, body: AsyncIterable<Uint8Array>, fileName: string, maxBytes: number, options: Omit<ImportRunOptions, 'dryRun'>): Promise<ImportJobView> {
			if (!canEdit(actor)) throw new ForbiddenError(`${actor.name} has the ${actor.role} role, which cannot import records.`);
			const id = newId();
			const by = { id: actor.id, name: actor.name };
			if (!(await jobs.begin({ id, workspace, fileName, policy: options.policy ?? 'create', by, progress: emptyProgress(0) }))) {
				const [current] = (await jobs.list(workspace, LISTED_JOBS)).filter((job) => job.status === 'running');
				throw new ImportBusyError(current ?? null);
			}
			const jobPath = path.join(dir, `accord-import-${id}`);
			mkdirSync(jobPath, { recursive: true });
			keep(id, jobPath);
			const upload = path.join(jobPath, 'upload');
			let size: number;
			try {
				size = await spool(body, upload, maxBytes);
			} catch (error) {
				await jobs.finish(id, 'failed', emptyProgress(0), JSON.stringify({ message: (error as Error).message }));
				throw error;
			}
			const rejected = new RejectedRows(path.join(jobPath, 'rejected.csv'));
			const state = { cancel: false, done: Promise.resolve() };
			running.set(id, state);
			state.done = run(actor, id, upload, size, options, rejected).finally(() => running.delete(id));
			const row = await jobs.get(workspace, id);
			return viewOf(row!);
		},

		async list(actor: Actor): Promise<ImportJobView[]> {
			if (actor.workspace !== workspace) return [];
			return (await jobs.list(workspace, LISTED_JOBS)).map(viewOf);
		},

		async get(actor: Actor, anyId: string): Promise<ImportJobView | null> {
			const id = canonicalRecordId(anyId);
			if (!id || actor.workspace !== workspace) return null;
			const row = await jobs.get(workspace, id);
			return row ? viewOf(row) : null;
		},

		/** Asks a running job to stop after its current batch (editors and admins); false when it is not running. */
		async cancel(actor: Actor, anyId: string): Promise<boolean> {
			if (!canEdit(actor)) throw new ForbiddenError(`${actor.name} has the ${actor.role} role, which cannot cancel an import.`);
			const id = canonicalRecordId(anyId);
			if (!id || actor.workspace !== workspace) return false;
			const here = running.get(id);
			if (here) here.cancel = true;
			return (await jobs.requestCancel(workspace, id)) || here !== undefined;
		},

		/** The rejected rows' CSV file of a finished job on this instance, or null. */
		rejectedFile(actor: Actor, anyId: string): string | null {
			const id = canonicalRecordId(anyId);
			if (!id || actor.workspace !== workspace || running.has(id)) return null;
			const jobPath = jobDir(id);
			return jobPath ? path.join(jobPath, 'rejected.csv') : null;
		},

		/** Undoes a finished import (admins): created records archived, updated ones given back their earlier values, merges undone. */
		async undo(actor: Actor, anyId: string): Promise<UndoImportResult> {
			if (!canAdminister(actor)) throw new ForbiddenError('Only admins can undo an import.');
			const id = canonicalRecordId(anyId);
			const row = id && actor.workspace === workspace ? await jobs.get(workspace, id) : null;
			if (!row) return { ok: false, status: 404, message: `There is no import ${anyId} in this workspace.` };
			if (row.status === 'running') return { ok: false, status: 409, message: 'This import is still running: cancel it first, then undo it.' };
			if (row.status === 'undone') return { ok: false, status: 409, message: `This import was already undone (${row.undoneAt}).` };
			if (!(await jobs.claimUndo(row.id, { id: actor.id, name: actor.name }))) return { ok: false, status: 409, message: 'This import was already undone.' };
			const touched = await jobs.touched(row.id);
			const by = { actor: { id: actor.id, name: actor.name }, source: 'import' as const };
			let archived = 0;
			let restored = 0;
			let mergesUndone = 0;
			for (const item of touched.filter((t) => t.kind === 'merge')) {
				const undone = await merges.undo(actor, item.recordId, { force: true });
				if (undone.ok) mergesUndone++;
			}
			const undoOne = async (item: (typeof touched)[number]): Promise<void> => {
				const room = await rooms.acquire(item.recordId);
				if (!room) return;
				try {
					if (!isRecordDoc(room.doc)) return;
					if (item.kind === 'created') {
						await room.transact(by, (doc) => setArchived(doc, true));
						archived++;
					} else if (item.before) {
						const before = item.before;
						await room.transact(by, (doc) => restore(doc, before));
						restored++;
					}
					// Stored and out of the list before the answer says so.
					await rooms.projected(room);
				} finally {
					rooms.release(room);
				}
			};
			await eachAtMost(
				touched.filter((t) => t.kind !== 'merge'),
				UNDO_AT_ONCE,
				undoOne
			);
			return { ok: true, archived, restored, mergesUndone };
		},

		/** Waits for this instance's running jobs (tests, and a clean stop). */
		async settled(): Promise<void> {
			await Promise.all([...running.values()].map((state) => state.done));
		},

		/** On shutdown: running jobs stop after their current batch (and say so: cancelled), then the job files go. */
		async close(): Promise<void> {
			for (const state of running.values()) state.cancel = true;
			await Promise.all([...running.values()].map((state) => state.done));
			for (const job of kept.splice(0)) rmSync(job.dir, { recursive: true, force: true });
		}
	};
}

export type ImportJobs = ReturnType<typeof createImportJobs>;
