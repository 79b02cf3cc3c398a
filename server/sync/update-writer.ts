/**
 * Group commit for document updates: updates enqueued within a few milliseconds are
 * written in one database transaction, so a burst of edits costs one commit, not one
 * per keystroke. Each update travels with its audit entries and is stored with them in
 * that transaction. A failed write is retried (with backoff) until it succeeds; nothing
 * is reported as stored before it is.
 *
 * The queue is bounded (`maxPending`): once it is full the writer is `saturated`, and
 * connections stop reading their sockets until it has stored half of it (`whenRelieved`),
 * so storage slower than the edits coming in (a loaded or unreachable database) pushes
 * back on the senders through TCP instead of growing the server's memory.
 */
import type { AttributedStore, AttributedUpdate } from '../audit/attributed-store.ts';
import type { Logger } from '../log.ts';
import { UnknownDocumentError } from '../store/sql-store.ts';
import type { UpdateKey } from '../store/types.ts';
import type { AuditDraft } from '../audit/types.ts';
import type { AuditPerson } from '../../src/lib/model/audit.ts';

interface Pending extends AttributedUpdate {
	resolve(seq: number): void;
}

const MAX_BATCH = 500;

/** What `enqueue` resolves with for an update another instance had stored already (see UpdateKey): nothing was appended. */
export const STORED_ELSEWHERE = -1;
const MAX_RETRY_DELAY_MS = 5_000;

export class UpdateWriter {
	private queue: Pending[] = [];
	private timer: ReturnType<typeof setTimeout> | null = null;
	private writing = false;
	private retryDelayMs = 0;
	private readonly tails = new Map<string, Promise<number>>();
	private closed = false;
	/** Connections waiting for the queue to fall back to half its bound. */
	private relieved: Array<() => void> = [];
	/** True while the last write attempt failed (the store is unreachable). */
	failing = false;
	/** Updates stored since start (for health and benchmarks). */
	storedCount = 0;

	constructor(
		private readonly store: Pick<AttributedStore, 'appendUpdates'>,
		private readonly delayMs: number,
		private readonly log: Logger,
		/** Updates waiting past which the writer is saturated (0: no bound). */
		private readonly maxPending = 0
	) {}

	/**
	 * Resolves with the update's sequence number once it is durably stored, with its audit
	 * entries; with STORED_ELSEWHERE when its `key` says another instance stored it first
	 * (it is stored then too, just not by this write); with 0 when its document is gone.
	 */
	enqueue(
		documentId: string,
		update: Uint8Array,
		audit?: readonly AuditDraft[],
		bindings?: ReadonlyArray<{ client: number; person: AuditPerson }>,
		key?: UpdateKey
	): Promise<number> {
		if (this.closed) return Promise.reject(new Error('the update writer is closed'));
		const stored = new Promise<number>((resolve) => this.queue.push({ documentId, update, audit, bindings, key, resolve }));
		this.tails.set(documentId, stored);
		void stored.then(() => {
			if (this.tails.get(documentId) === stored) this.tails.delete(documentId);
		});
		this.schedule();
		return stored;
	}

	/** Resolves once every update enqueued so far for the document is stored. */
	async flushed(documentId: string): Promise<void> {
		await this.tails.get(documentId);
	}

	get pendingCount(): number {
		return this.queue.length;
	}

	/** The queue is at its bound: connections should stop reading until `whenRelieved`. */
	get saturated(): boolean {
		return this.maxPending > 0 && this.queue.length >= this.maxPending;
	}

	/** Resolves once the queue is back to half its bound (at once when it is), or the writer closes. */
	whenRelieved(): Promise<void> {
		if (!this.underPressure()) return Promise.resolve();
		return new Promise((resolve) => this.relieved.push(resolve));
	}

	private underPressure(): boolean {
		return this.maxPending > 0 && !this.closed && this.queue.length > this.maxPending / 2;
	}

	private relieve(): void {
		if (this.relieved.length === 0 || this.underPressure()) return;
		const waiting = this.relieved;
		this.relieved = [];
		for (const resolve of waiting) resolve();
	}

	/**
	 * Writes after the window, or at once when a batch is full or what is queued arrived
	 * during the last write (`waited`: it has waited long enough); after a failure, only
	 * once the retry delay has passed.
	 */
	private schedule(waited = false): void {
		if (this.writing) return;
		const now = waited || this.queue.length >= MAX_BATCH;
		if (this.timer) {
			if (!now || this.retryDelayMs) return;
			clearTimeout(this.timer);
		}
		const delay = this.retryDelayMs || (now ? 0 : this.delayMs);
		this.timer = setTimeout(() => {
			this.timer = null;
			void this.write();
		}, delay);
	}

	private async write(): Promise<void> {
		// One write at a time (a timer may fire while `close` writes); the one under way reschedules.
		if (this.writing || this.queue.length === 0) return;
		this.writing = true;
		const batch = this.queue.splice(0, MAX_BATCH);
		try {
			const seqs = await this.store.appendUpdates(batch);
			if (this.failing) this.log.info('persistence recovered; stored updates that were waiting', { updates: batch.length });
			this.failing = false;
			this.retryDelayMs = 0;
			this.storedCount += batch.length;
			for (const item of batch) item.resolve(seqs.get(item.documentId) ?? STORED_ELSEWHERE);
		} catch (error) {
			if (error instanceof UnknownDocumentError) {
				// A document removed while its updates waited: those updates have nowhere to
				// go, and must not hold back everybody else's.
				const dropped = batch.filter((item) => item.documentId === error.documentId);
				this.log.warn('dropped updates of a document that no longer exists', { document: error.documentId, updates: dropped.length });
				for (const item of dropped) item.resolve(0);
				this.queue.unshift(...batch.filter((item) => item.documentId !== error.documentId));
				return;
			}
			// Put the batch back in front, in order, and try again later: an update is
			// acknowledged only once stored, and clients keep theirs until then.
			this.queue.unshift(...batch);
			this.retryDelayMs = Math.min(MAX_RETRY_DELAY_MS, Math.max(100, this.retryDelayMs * 2));
			if (!this.failing) this.log.error('storing updates failed; will retry', { error: (error as Error).message });
			this.failing = true;
		} finally {
			this.writing = false;
			this.relieve();
			if (this.queue.length > 0 && !this.closed) this.schedule(true);
		}
	}

	/** Writes what is queued (trying a few times) and refuses further updates. */
	async close(): Promise<void> {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		for (let attempt = 0; attempt < 3 && (this.queue.length > 0 || this.writing); attempt++) {
			while (this.writing) await new Promise((r) => setTimeout(r, 5));
			this.retryDelayMs = 0;
			await this.write();
		}
		this.closed = true;
		if (this.timer) clearTimeout(this.timer);
		this.relieve();
	}
}
