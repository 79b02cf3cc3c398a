/**
 * The page's side of the search worker (search.worker.ts): starts it once per tab for
 * the signed-in person's local copy, forwards every record change this tab sees (so an
 * edit, here or by anyone whose change reaches this tab, is searchable within a moment),
 * and asks it queries. The worker does the tokenizing and holds the index, so the page
 * neither loads the pinyin dictionary nor spends its thread on indexing.
 *
 * Where there is no Worker or no IndexedDB, `localSearchFor` returns null and callers
 * search elsewhere (the server; the list's own scan of the local copy).
 */
import type * as Y from 'yjs';
import { isRecordDoc, readRecord, type CustomerRecord } from '../model/record.ts';
import type { FieldDefinition } from '../model/schema.ts';
import { scopeOf, type LocalStore } from '../local/types.ts';
import { localStoreFor } from '../local/index.ts';
import { syncClient } from '../sync/status.svelte.ts';
import type { SearchHit } from './index-engine.ts';
import type { IndexStatus, WorkerAnswer, WorkerRequest } from './search.worker.ts';

export type { SearchHit } from './index-engine.ts';
export type { IndexStatus } from './search.worker.ts';

export type LocalAnswer = { ok: true; total: number; hits: SearchHit[]; ids?: string[]; status: IndexStatus } | { ok: false; message: string; status: IndexStatus };

export interface LocalSearchOptions {
	limit?: number;
	/** Every matching id, for the list (which sorts and pages them itself). */
	allIds?: boolean;
	includeArchived?: boolean;
	/** The workspace's field definitions: a field named by its label (预算>100) is read as the server reads it. */
	fields?: readonly FieldDefinition[];
}

/** A change is forwarded after this pause (typing sends one per keystroke). */
const FORWARD_AFTER_MS = 150;
/** The worker compares its index with the local rows at most this often (records dropped from the copy leave it then). */
const REFRESH_EVERY_MS = 30_000;
/** A question not answered in this long is answered "not available" (the worker died or is stuck). */
const ANSWER_TIMEOUT_MS = 10_000;

export class LocalSearch {
	private readonly worker: Worker;
	private seq = 0;
	private readonly waiting = new Map<number, (answer: LocalAnswer) => void>();
	private readonly timers = new Map<string, { record: CustomerRecord; timer: ReturnType<typeof setTimeout> }>();
	private readonly changeListeners = new Set<() => void>();
	private readonly listeners = new Set<(status: IndexStatus) => void>();
	private lastRefresh = Date.now();
	status: IndexStatus = { ready: false, indexed: 0, rows: 0, failed: false };

	constructor(scope: string, private readonly store: Promise<LocalStore>) {
		this.worker = new Worker(new URL('./search.worker.ts', import.meta.url), { type: 'module', name: 'accord-search' });
		this.worker.onmessage = (event: MessageEvent<WorkerAnswer>) => this.onAnswer(event.data);
		this.worker.onerror = (event) => {
			console.warn('[accord search] the search worker failed', event.message);
			this.setStatus({ ...this.status, failed: true });
		};
		this.send({ type: 'open', scope });
		const client = syncClient();
		client.onDocChange((name, doc) => this.onDocChange(name, doc));
		// Back online: the catch-up may drop records from the copy; look again once it has run.
		client.onConnect(() => setTimeout(() => this.refresh(true), 5_000));
	}

	private send(message: WorkerRequest): void {
		this.worker.postMessage(message);
	}

	private setStatus(status: IndexStatus): void {
		this.status = status;
		// For people reading the page's state and for tests: whether offline search covers the whole copy.
		document.documentElement.dataset.searchIndex = status.failed ? 'failed' : status.ready ? 'ready' : 'building';
		for (const listener of this.listeners) listener(status);
	}

	private onAnswer(answer: WorkerAnswer): void {
		this.setStatus(answer.status);
		if (answer.type !== 'result') return;
		const resolve = this.waiting.get(answer.seq);
		if (!resolve) return;
		this.waiting.delete(answer.seq);
		if (answer.ok) void this.stillKept(answer.hits).then((hits) => resolve({ ok: true, total: answer.total - (answer.hits.length - hits.length), hits, ids: answer.ids, status: answer.status }));
		else resolve({ ok: false, message: answer.message, status: answer.status });
	}

	/** The hits whose records are still in the local copy: one dropped from it (made private to someone else) leaves the index only at the next refresh. */
	private async stillKept(hits: SearchHit[]): Promise<SearchHit[]> {
		try {
			const store = await this.store;
			const kept = await Promise.all(hits.map((hit) => store.row(hit.id)));
			return hits.filter((_, i) => kept[i] !== null);
		} catch {
			return hits;
		}
	}

	private onDocChange(name: string, doc: Y.Doc): void {
		if (name.startsWith('workspace:')) return;
		// Read now: a document synced in the background is closed (and destroyed) as soon as it is in.
		let record: CustomerRecord;
		try {
			if (!isRecordDoc(doc)) return;
			record = readRecord(doc, name);
		} catch (error) {
			console.warn('[accord search] a changed record could not be read', error);
			return;
		}
		const waiting = this.timers.get(name);
		if (waiting) waiting.record = record;
		else this.timers.set(name, { record, timer: setTimeout(() => this.forward(name), FORWARD_AFTER_MS) });
	}

	private forward(name: string): void {
		const waiting = this.timers.get(name);
		if (!waiting) return;
		clearTimeout(waiting.timer);
		this.timers.delete(name);
		this.send({ type: 'put', record: waiting.record });
		for (const listener of this.changeListeners) listener();
	}

	/** Called after changed records went to the index (an open palette searches again). */
	onChange(listener: () => void): () => void {
		this.changeListeners.add(listener);
		return () => this.changeListeners.delete(listener);
	}

	/** Asks the worker to compare its index with the local rows (at most every REFRESH_EVERY_MS unless `now`). */
	refresh(now = false): void {
		if (!now && Date.now() - this.lastRefresh < REFRESH_EVERY_MS) return;
		this.lastRefresh = Date.now();
		this.send({ type: 'refresh' });
	}

	onStatus(listener: (status: IndexStatus) => void): () => void {
		this.listeners.add(listener);
		listener(this.status);
		return () => this.listeners.delete(listener);
	}

	search(text: string, options: LocalSearchOptions = {}): Promise<LocalAnswer> {
		// Changes not yet forwarded go first: a search right after an edit must see it.
		for (const name of [...this.timers.keys()]) this.forward(name);
		const seq = ++this.seq;
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				if (this.waiting.delete(seq)) resolve({ ok: false, message: 'timeout', status: this.status });
			}, ANSWER_TIMEOUT_MS);
			this.waiting.set(seq, (answer) => {
				clearTimeout(timer);
				resolve(answer);
			});
			// Plain data: a Svelte state proxy cannot be cloned to the worker.
			const fields = options.fields ? (JSON.parse(JSON.stringify(options.fields)) as FieldDefinition[]) : undefined;
			this.send({ type: 'search', seq, text, limit: options.limit ?? 20, allIds: options.allIds ?? false, includeArchived: options.includeArchived ?? false, ...(fields ? { fields } : {}) });
		});
	}
}

let shared: { scope: string; search: LocalSearch } | null = null;

/** This tab's search worker for the person's local copy; null where the browser cannot run it. */
export function localSearchFor(workspace: string, userId: string): LocalSearch | null {
	if (typeof Worker === 'undefined' || typeof indexedDB === 'undefined') return null;
	const scope = scopeOf(workspace, userId);
	if (shared?.scope === scope) return shared.search;
	try {
		shared = { scope, search: new LocalSearch(scope, localStoreFor(workspace, userId)) };
	} catch (error) {
		console.warn('[accord search] the search worker could not start', error);
		return null;
	}
	return shared.search;
}
