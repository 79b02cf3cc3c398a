/**
 * Keeps the local copy of a whole workspace current, in the background, so the tab
 * works offline (DESIGN.md, "The browser"): every record the person may see is synced
 * into the local store, and every local change reaches the server.
 *
 * - Catch-up: each time the socket opens, the client sends its last known workspace
 *   position (`catchUp`); the server answers with the records changed since, and those
 *   the person may no longer see (`changedSince`). Only those are synced (step 1 /
 *   step 2, briefly opened and released), the removed ones dropped; the position is
 *   stored once every changed record is in. The first catch-up (no position) is the
 *   whole workspace.
 * - Live: a `recordChanged` notice while connected syncs that record the same way, ahead
 *   of any catch-up still queued (a freshly loaded page may have hundreds to go, and the
 *   record someone is changing now is the one a person is looking at). A record being
 *   synced at that moment gets the change live, as any open document does.
 * - Pending: every document with local changes not yet on the server (from the store at
 *   start, and each local edit) is held open until the server has stored them all, so
 *   the connection indicator counts them and they go up on reconnect even when no page
 *   shows the record any more.
 * - Rows: after each change to a document its list row is recomputed (debounced) into
 *   the local store, so the list can be shown offline; after each sync, a row missing or
 *   behind its document (a page left before it was written) is written too.
 *
 * Plain TypeScript (no Svelte): runs in Node tests with the in-memory store.
 */
import type * as Y from 'yjs';
import { workspaceChannel, type ChangedSince } from '../protocol/index.ts';
import type { DocHandle, SyncClient } from './client.ts';
import type { LocalRow, LocalStore } from '../local/types.ts';

export interface WorkspaceSyncOptions {
	client: SyncClient;
	local: LocalStore;
	workspace: string;
	/** The list row of a document (null if it is not a record yet). */
	rowOf?: (id: string, doc: Y.Doc, previous: LocalRow | null) => LocalRow | null;
	/** Records synced at once during catch-up. */
	concurrency?: number;
	/** Give up on one record's catch-up sync after this long (it is retried at the next catch-up). */
	syncTimeoutMs?: number;
	/** Wait this long after a `recordChanged` notice before syncing (typing sends many). */
	noticeDelayMs?: number;
	rowDelayMs?: number;
	/** A row written by repairRow (no document change announced it): pages showing rows take it. */
	onRowRepaired?: (row: LocalRow) => void;
}

const isRecordName = (name: string) => !name.startsWith('workspace:');

export class WorkspaceSync {
	private readonly client: SyncClient;
	private readonly local: LocalStore;
	private readonly workspace: string;
	private readonly options: Required<Omit<WorkspaceSyncOptions, 'client' | 'local' | 'workspace' | 'rowOf' | 'onRowRepaired'>> & Pick<WorkspaceSyncOptions, 'rowOf' | 'onRowRepaired'>;
	private channel: DocHandle | null = null;
	private readonly offs: (() => void)[] = [];
	/** Documents held open until their local changes are stored by the server. */
	private readonly held = new Map<string, DocHandle>();
	/** Records waiting for a catch-up sync, and those being synced. */
	private readonly queue: string[] = [];
	private readonly queued = new Set<string>();
	/** Records being synced now (open: changes reach them live). */
	private readonly inFlight = new Set<string>();
	private running = 0;
	private readonly noticeTimers = new Map<string, ReturnType<typeof setTimeout>>();
	private readonly rowTimers = new Map<string, ReturnType<typeof setTimeout>>();
	/** The catch-up under way: its ids not synced yet, and whether any failed. */
	private batch: { position: string; left: Set<string>; failed: boolean } | null = null;
	private idleWaiters: (() => void)[] = [];
	private stopped = false;
	/** Records synced by catch-up or notice since start (for tests and diagnostics). */
	synced = 0;
	lastAnswer: ChangedSince | null = null;

	constructor(options: WorkspaceSyncOptions) {
		this.client = options.client;
		this.local = options.local;
		this.workspace = options.workspace;
		this.options = { concurrency: 16, syncTimeoutMs: 30_000, noticeDelayMs: 1_000, rowDelayMs: 400, ...options };
	}

	start(): void {
		const channel = this.client.open(workspaceChannel(this.workspace));
		this.channel = channel;
		this.offs.push(
			channel.on('changedSince', (answer) => this.onChangedSince(answer)),
			channel.on('recordChanged', (id) => this.onNotice(id)),
			this.client.onConnect(() => void this.onConnect()),
			this.client.onDocChange((name, doc, local) => this.onDocChange(name, doc, local))
		);
		void this.holdPendingDocs();
		if (this.client.status === 'online' || this.client.status === 'syncing') void this.onConnect();
	}

	stop(): void {
		this.stopped = true;
		for (const off of this.offs.splice(0)) off();
		for (const timer of [...this.noticeTimers.values(), ...this.rowTimers.values()]) clearTimeout(timer);
		this.noticeTimers.clear();
		this.rowTimers.clear();
		this.rowsDue.clear();
		for (const handle of this.held.values()) handle.release();
		this.held.clear();
		this.channel?.release();
		this.channel = null;
		this.queue.length = 0;
		this.queued.clear();
	}

	/** Resolves once no catch-up or notice sync is queued or running (pending documents may still be held). */
	idle(): Promise<void> {
		if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
		return new Promise((resolve) => this.idleWaiters.push(resolve));
	}

	/** Asks the server what changed since the stored position. */
	async catchUp(): Promise<boolean> {
		const position = await this.local.position();
		if (this.stopped) return false;
		return this.client.requestCatchUp(this.workspace, position);
	}

	private async onConnect(): Promise<void> {
		await this.holdPendingDocs();
		await this.catchUp();
	}

	// ------------------------------------------------------------ pending documents

	private async holdPendingDocs(): Promise<void> {
		let pending: Map<string, number>;
		try {
			pending = await this.local.pendingDocs();
		} catch {
			return;
		}
		for (const id of pending.keys()) this.hold(id);
	}

	/** Keeps a document open until the server has stored its local changes. */
	private hold(id: string): void {
		if (this.stopped || this.held.has(id) || !isRecordName(id)) return;
		const handle = this.client.open(id);
		this.held.set(id, handle);
		const offs: (() => void)[] = [];
		const check = () => {
			const done = (handle.syncedNow && handle.pending === 0) || handle.error?.code === 'not-found' || handle.readOnly;
			if (!done || this.held.get(id) !== handle) return;
			for (const off of offs) off();
			this.held.delete(id);
			handle.release();
		};
		offs.push(handle.on('pending', check), handle.on('sync', check), handle.on('error', check));
		void handle.whenLoaded.then(check);
	}

	private onDocChange(name: string, doc: Y.Doc, local: boolean): void {
		if (!isRecordName(name) || this.stopped) return;
		if (local) this.hold(name);
		this.scheduleRow(name, doc);
	}

	// ------------------------------------------------------------ rows

	/**
	 * Rows due, by record: the document, and the stored row as read when the row fell due
	 * (undefined until read), which flushRows needs at hand: a page being left gives no time
	 * to read it then.
	 */
	private readonly rowsDue = new Map<string, { doc: Y.Doc; previous: LocalRow | null | undefined }>();

	private scheduleRow(id: string, doc: Y.Doc): void {
		if (!this.options.rowOf || this.rowTimers.has(id)) return;
		const due: { doc: Y.Doc; previous: LocalRow | null | undefined } = { doc, previous: undefined };
		this.rowsDue.set(id, due);
		this.local.row(id).then(
			(row) => (due.previous = row),
			() => (due.previous = null)
		);
		this.rowTimers.set(
			id,
			setTimeout(() => void this.writeRow(id), this.options.rowDelayMs)
		);
	}

	private takeDue(id: string) {
		const due = this.rowsDue.get(id);
		clearTimeout(this.rowTimers.get(id));
		this.rowTimers.delete(id);
		this.rowsDue.delete(id);
		return due;
	}

	private async writeRow(id: string): Promise<void> {
		const rowOf = this.options.rowOf;
		const due = this.takeDue(id);
		if (!rowOf || !due) return;
		try {
			// The row read when this one fell due (one read a row, as before flushRows needed it);
			// only the list page also writes rows, and only what a row carries over (its time, the
			// private flag) could be a moment old.
			const previous = due.previous !== undefined ? due.previous : await this.local.row(id);
			const row = rowOf(id, due.doc, previous);
			if (row && row !== previous) await this.local.putRows([row]);
		} catch {
			/* the document was closed meanwhile, or the store is gone: the next change (or sync) tries again */
		}
	}

	/**
	 * Writes every row that is due now rather than after its pause: the page is being left
	 * (pagehide). Without it the rows of the last moment's changes were lost with the page,
	 * and a reload with no network showed the list and board without them (the next
	 * catch-up repairs them, but only online). The rows go in one write, requested before
	 * this returns (a page being left runs no more tasks), from the stored rows read when
	 * each fell due.
	 */
	flushRows(): Promise<void> {
		const rowOf = this.options.rowOf;
		if (!rowOf) return Promise.resolve();
		const rows: LocalRow[] = [];
		const later: Promise<void>[] = [];
		for (const id of [...this.rowTimers.keys()]) {
			const due = this.rowsDue.get(id);
			if (!due || due.previous === undefined) {
				later.push(this.writeRow(id));
				continue;
			}
			this.takeDue(id);
			try {
				const row = rowOf(id, due.doc, due.previous);
				if (row && row !== due.previous) rows.push(row);
			} catch {
				/* the document was closed meanwhile */
			}
		}
		return Promise.all([this.local.putRows(rows).catch(() => {}), ...later]).then(() => {});
	}

	// ------------------------------------------------------------ catch-up

	private onChangedSince(answer: ChangedSince): void {
		if (this.stopped) return;
		this.lastAnswer = answer;
		for (const id of answer.removed) {
			if (this.client.pendingByDoc()[id]) continue;
			void this.local.forget(id).catch(() => {});
		}
		const left = new Set(answer.records);
		this.batch = { position: answer.position, left, failed: false };
		if (left.size === 0) {
			void this.finishBatch();
			return;
		}
		for (const id of answer.records) this.enqueue(id);
	}

	private onNotice(id: string): void {
		if (this.stopped || this.noticeTimers.has(id)) return;
		this.noticeTimers.set(
			id,
			setTimeout(() => {
				this.noticeTimers.delete(id);
				this.enqueue(id, true);
			}, this.options.noticeDelayMs)
		);
	}

	/** Queues a record's sync; `noticed` ones go first (see the header). */
	private enqueue(id: string, noticed = false): void {
		if (this.stopped || !isRecordName(id)) return;
		if (this.queued.has(id)) {
			if (!noticed || this.inFlight.has(id)) return;
			this.queue.splice(this.queue.indexOf(id), 1);
		}
		this.queued.add(id);
		if (noticed) this.queue.unshift(id);
		else this.queue.push(id);
		this.pump();
	}

	private pump(): void {
		while (this.running < this.options.concurrency && this.queue.length > 0) {
			const id = this.queue.shift()!;
			this.running++;
			this.inFlight.add(id);
			void this.syncOne(id)
				.catch(() => false)
				.then((ok) => {
					this.running--;
					this.inFlight.delete(id);
					this.queued.delete(id);
					this.settled(id, ok);
					this.pump();
					if (this.running === 0 && this.queue.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
				});
		}
	}

	/** Opens a record until the server's state is in (and anything local is stored), then lets it go. */
	private async syncOne(id: string): Promise<boolean> {
		if (this.stopped) return false;
		const handle = this.client.open(id);
		try {
			const ok = await new Promise<boolean>((resolve) => {
				const offs: (() => void)[] = [];
				const finish = (ok: boolean) => {
					for (const off of offs) off();
					clearTimeout(timer);
					resolve(ok);
				};
				const check = () => {
					if (handle.error && !handle.readOnly) finish(handle.error.code === 'not-found');
					else if (handle.syncedNow && handle.pending === 0) finish(true);
				};
				const timer = setTimeout(() => finish(false), this.options.syncTimeoutMs);
				offs.push(handle.on('sync', check), handle.on('pending', check), handle.on('error', check));
				check();
			});
			if (ok && !handle.error) await this.repairRow(id, handle.doc).catch(() => {});
			return ok;
		} finally {
			handle.release();
			if (!this.stopped) this.synced++;
		}
	}

	/**
	 * A synced record's list row, written if this device lacks it or it says otherwise than
	 * the document. Rows follow document changes a moment later (scheduleRow), so a page
	 * left in that moment kept the document but not its row; the next catch-up then finds
	 * the document current, nothing changes in it, and without this the list and the board
	 * missed the record until it changed again. A row already on its way is left to come.
	 */
	private async repairRow(id: string, doc: Y.Doc): Promise<void> {
		const rowOf = this.options.rowOf;
		if (!rowOf || this.stopped || this.rowTimers.has(id)) return;
		const previous = await this.local.row(id);
		const row = rowOf(id, doc, previous);
		if (!row || row === previous) return;
		await this.local.putRows([row]);
		this.options.onRowRepaired?.(row);
	}

	private settled(id: string, ok: boolean): void {
		const batch = this.batch;
		if (!batch || !batch.left.delete(id)) return;
		if (!ok) batch.failed = true;
		if (batch.left.size === 0) void this.finishBatch();
	}

	/** Every changed record is in: next time, catch up from the new position (unless one failed: then ask again). */
	private async finishBatch(): Promise<void> {
		const batch = this.batch;
		if (!batch || batch.left.size > 0) return;
		this.batch = null;
		if (batch.failed) return;
		try {
			await this.local.setPosition(batch.position);
		} catch {
			/* asked again from the older position next time: harmless */
		}
	}
}
