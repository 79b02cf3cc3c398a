/**
 * The reactive face of the sync client: one SyncClient per tab, its connection
 * status and pending (unsaved) counts as rune state, and small reactive wrappers for
 * a document handle and an awareness. Browser only: call these from `onMount` or
 * `$effect`, never during server rendering.
 */
import type { Awareness } from 'y-protocols/awareness';
import type { PresenceState, PresenceUser, RefusedMessage } from '../protocol/index.ts';
import { SyncClient, type ConnectionStatus, type DocHandle } from './client.ts';
import { WorkspaceSync } from './workspace-sync.ts';
import { localStoreFor, rowOfDoc, type LocalRow, type LocalStore } from '$lib/local/index.ts';

class SyncState {
	status = $state<ConnectionStatus>('connecting');
	/** Changes over all documents not yet stored by the server. */
	pending = $state(0);
	/** Pending count by document name. */
	pendingByDoc = $state<Record<string, number>>({});
	/** When the server last confirmed it had every local change (null: not since this page opened). */
	allSavedAt = $state<number | null>(null);
}

/** Connection status and pending counts; safe to read during SSR (initial values). */
export const syncState = new SyncState();

let client: SyncClient | null = null;
let resolveLocal: (store: Promise<LocalStore | null>) => void = () => {};
const localReady = new Promise<LocalStore | null>((resolve) => (resolveLocal = (store) => store.then(resolve, () => resolve(null))));
let localStarted = false;

/**
 * Starts the local copy of `workspace` for this person: documents opened by pages load
 * from it (they wait for this call), and the background sync keeps it current. The
 * root layout's workspace channel calls it once a person is known; later calls are no-ops.
 */
export function startLocal(workspace: string, userId: string): void {
	if (localStarted) return;
	localStarted = true;
	const store = localStoreFor(workspace, userId);
	resolveLocal(store);
	const sync = syncClient();
	void store.then((local) => {
		const background = new WorkspaceSync({ client: sync, local, workspace, rowOf: rowOfDoc, onRowRepaired: (row) => rowListeners.forEach((listener) => listener(row)) });
		background.start();
		// The rows of the last moment's changes, written before the page goes (see flushRows).
		window.addEventListener('pagehide', () => void background.flushRows());
	});
}

const rowListeners = new Set<(row: LocalRow) => void>();

/**
 * Rows the background sync wrote with no document change to announce them (a row left
 * unwritten when a page was left, repaired by the next catch-up): the board, which shows
 * rows and follows documents, takes them from here. Returns the unsubscribe.
 */
export function onRowRepaired(listener: (row: LocalRow) => void): () => void {
	rowListeners.add(listener);
	return () => rowListeners.delete(listener);
}

/** The tab's sync client, created (and connected) on first use. */
export function syncClient(): SyncClient {
	if (client) return client;
	const created = new SyncClient({ local: localReady });
	client = created;
	let scheduled = false;
	let hadPending = false;
	created.onStatus(() => {
		// Coalesce bursts (typing sends many updates) into one reactive write per microtask.
		if (scheduled) return;
		scheduled = true;
		queueMicrotask(() => {
			scheduled = false;
			syncState.status = created.status;
			syncState.pending = created.pending;
			syncState.pendingByDoc = created.pendingByDoc();
			// Say when changes that were waiting are all on the server.
			if (syncState.pending > 0) hadPending = true;
			else if (hadPending && created.status === 'online') {
				hadPending = false;
				syncState.allSavedAt = Date.now();
			}
		});
	});
	return created;
}

/** A document handle with its sync state as runes. `destroy()` releases the handle. */
export class LiveDoc {
	readonly handle: DocHandle;
	synced = $state(false);
	/** Something to show and edit: the local copy, or the server's state. */
	ready = $state(false);
	error = $state<RefusedMessage | null>(null);
	/** Why the server did not keep part of this person's last change, until they dismiss it. */
	notKept = $state<RefusedMessage | null>(null);
	pending = $state(0);
	private readonly off: (() => void)[] = [];

	constructor(name: string, sync: SyncClient = syncClient()) {
		this.handle = sync.open(name);
		this.synced = this.handle.synced;
		this.ready = this.handle.ready;
		this.error = this.handle.error;
		this.pending = this.handle.pending;
		this.off.push(
			this.handle.on('ready', () => (this.ready = true)),
			this.handle.on('synced', () => (this.synced = true)),
			this.handle.on('error', (error) => (this.error = error)),
			this.handle.on('notKept', (refusal) => (this.notKept = refusal)),
			this.handle.on('pending', (count) => (this.pending = count))
		);
	}

	destroy(): void {
		for (const off of this.off.splice(0)) off();
		this.handle.release();
	}
}

export interface PresenceEntry {
	clientId: number;
	state: PresenceState;
	self: boolean;
}

/** The awareness states of one document as rune state, updated on every change. */
export class LivePresence {
	entries = $state<PresenceEntry[]>([]);
	private readonly awareness: Awareness;
	private readonly listener = () => this.refresh();

	constructor(awareness: Awareness) {
		this.awareness = awareness;
		awareness.on('change', this.listener);
		this.refresh();
	}

	/** Distinct people (by user id), others first in order of arrival, excluding this tab unless `includeSelf`. */
	people(includeSelf = false): PresenceUser[] {
		const seen = new Map<string, PresenceUser>();
		for (const entry of this.entries) {
			if (entry.self && !includeSelf) continue;
			const user = entry.state.user;
			if (user && !seen.has(user.id)) seen.set(user.id, user);
		}
		return [...seen.values()];
	}

	/** Other tabs' states (this tab excluded). */
	others(): PresenceEntry[] {
		return this.entries.filter((entry) => !entry.self);
	}

	refresh(): void {
		const self = this.awareness.clientID;
		const next: PresenceEntry[] = [];
		for (const [clientId, state] of this.awareness.getStates()) {
			const candidate = state as Partial<PresenceState> | null;
			if (!candidate || typeof candidate.user !== 'object' || candidate.user === null) continue;
			next.push({ clientId, state: candidate as PresenceState, self: clientId === self });
		}
		next.sort((a, b) => a.clientId - b.clientId);
		this.entries = next;
	}

	destroy(): void {
		this.awareness.off('change', this.listener);
	}
}
