/**
 * The browser's sync client: one WebSocket to `/sync` carrying every document this tab
 * syncs (records and workspace presence channels), speaking the protocol in
 * `src/lib/protocol/`. Plain TypeScript with no Svelte in it, so it can be tested in Node with
 * any WebSocket implementation; `status.svelte.ts` mirrors its state into runes.
 *
 *   const client = new SyncClient();
 *   const handle = client.open(recordId);   // shares one Y.Doc between all openers
 *   await handle.whenSynced;                // true once the server's state is in
 *   ...
 *   handle.release();                        // the last release stops syncing the doc
 *
 * Transactions whose origin is the client itself are remote changes; every other
 * transaction is a local edit and is sent to the server.
 *
 * Access: the socket rides on the session cookie. A document the person may only read
 * is answered with a `refused` frame (code `read-only`) when a change is sent: the
 * handle's `error` says so and later local changes are dropped, not resent. When the
 * session ends (sign-out, expiry, revocation) the server closes the socket with 4401:
 * the client stops for good and calls `onSessionEnded` (in a browser: off to sign-in).
 *
 * "Pending" counts local changes the server has not yet confirmed as stored: the
 * server acknowledges every sync message but step 1 with a cumulative `saved` count
 * per document and connection, and each message sent is remembered with the changes it
 * covers (an update: its own change; a step 2: every change pending when it was sent).
 *
 * Local copy (`local`, the browser's IndexedDB): a document's stored state is loaded
 * into its Y.Doc before the socket asks the server for anything, so pages render and
 * edit from it at once, offline too (`ready`). Every change is stored: the server's as
 * state, local ones also as *pending*, durably, until a `saved` count covers them. After
 * a reload or a lost connection they go up again in the ordinary step-1/step-2 exchange.
 * A document created here (offline) is announced with a `create` frame carrying its
 * state before step 1, so the server creates it on first sync.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import {
	CloseCode,
	MAX_MESSAGE_BYTES,
	MessageType,
	decodeChangedSince,
	decodeRefused,
	encodeCatchUp,
	encodeClose,
	encodeCreate,
	encodeFrame,
	isWorkspaceChannel,
	readFrameHeader,
	type ChangedSince,
	type RefusedMessage
} from '../protocol/index.ts';
import { isLeaving, signInAgain } from './sign-in-again.ts';
import type { LocalDocs } from '../local/types.ts';

/** The code of a refusal that is a notice: the server kept the change but not all of it (see server/sync/shape-guard.ts). */
export const NOT_KEPT = 'not-kept';

export type ConnectionStatus = 'connecting' | 'online' | 'offline' | 'syncing';

/** What a handle tells its listeners about; `recordChanged` and `changedSince` only on workspace channels. */
export interface DocEvents {
	/** The server's state arrived for the first time. */
	synced: () => void;
	/** The server's state arrived on the current connection (after every reconnect). */
	sync: () => void;
	/** The document has content to show: loaded from the local copy, or synced. */
	ready: () => void;
	error: (error: RefusedMessage) => void;
	/** Part of a change was not kept by the server (`not-kept`: the rest was stored); the document keeps syncing. */
	notKept: (refusal: RefusedMessage) => void;
	pending: (count: number) => void;
	recordChanged: (recordId: string) => void;
	changedSince: (answer: ChangedSince) => void;
}

/** The origin of the transaction that applies the local copy: neither sent nor stored again. */
export const LOCAL_ORIGIN = Symbol('accord local copy');

export interface DocHandle {
	readonly name: string;
	readonly doc: Y.Doc;
	readonly awareness: awarenessProtocol.Awareness;
	/** True once the server's state has been received (stays true across reconnects). */
	readonly synced: boolean;
	/** True while the server's state has been received on the current connection. */
	readonly syncedNow: boolean;
	/** True once there is something to show: the local copy was loaded with content, or the server's state arrived. */
	readonly ready: boolean;
	/** Resolves once the local copy has been loaded (at once without one). */
	readonly whenLoaded: Promise<void>;
	/** Created on this device and not yet accepted by the server. */
	readonly createdLocally: boolean;
	/** Resolves true once synced, false if the server refused the document. */
	readonly whenSynced: Promise<boolean>;
	/** Set when the server refused this document or one of its messages. */
	readonly error: RefusedMessage | null;
	/** Local changes to this document not yet stored by the server. */
	readonly pending: number;
	/** True when local changes are not sent: marked so by the page (a viewer), or refused by the server as read-only. */
	readonly readOnly: boolean;
	/**
	 * The person may only read this document (the server would refuse their changes):
	 * from now on local changes are neither sent nor counted as pending. Call it right
	 * after `open()`. The server enforces roles regardless; this only keeps a viewer's
	 * tab from sending what would be refused and from waiting for saves that never come.
	 */
	markReadOnly(): void;
	on<E extends keyof DocEvents>(event: E, listener: DocEvents[E]): () => void;
	/** Gives this handle back; the document stops syncing when its last handle is released. */
	release(): void;
}

/** The subset of the DOM WebSocket the client uses (lets tests pass `ws`). */
export interface SocketLike {
	binaryType: string;
	readonly readyState: number;
	onopen: ((event: unknown) => void) | null;
	onclose: ((event: { code: number; reason: string }) => void) | null;
	onerror: ((event: unknown) => void) | null;
	onmessage: ((event: { data: unknown }) => void) | null;
	send(data: Uint8Array): void;
	close(code?: number, reason?: string): void;
}

export interface SyncClientOptions {
	/** Full ws(s) URL; defaults to `/sync` on the page's host. */
	url?: string;
	/** WebSocket constructor; defaults to the global one. */
	WebSocket?: new (url: string) => SocketLike;
	/** Reconnect backoff bounds in ms (full jitter between half and all of the delay). */
	minReconnectDelay?: number;
	maxReconnectDelay?: number;
	/** Connect on the first `open()` (default) or only on `connect()`. */
	autoConnect?: boolean;
	/**
	 * Called once when the server ends the session (close code 4401), after the client has
	 * stopped reconnecting. Defaults, in a browser, to going to the sign-in page and back.
	 */
	onSessionEnded?: (reason: string) => void;
	/**
	 * Asked after a connection attempt failed before opening (a refused upgrade looks like
	 * any network failure to a browser): resolves false when nobody is signed in any more.
	 * Defaults, in a browser, to asking the API; elsewhere to never asking.
	 */
	checkSession?: () => Promise<boolean>;
	/**
	 * The local copy of documents (IndexedDB in a browser), or a promise of it while it
	 * is being opened: documents wait for it before syncing. Null or absent: none.
	 */
	local?: LocalDocs | Promise<LocalDocs | null> | null;
}

const OPEN = 1;

interface Entry {
	name: string;
	doc: Y.Doc;
	awareness: awarenessProtocol.Awareness;
	channel: boolean;
	refs: number;
	synced: boolean;
	/** Synced on the current connection (reset on disconnect). */
	syncedNow: boolean;
	error: RefusedMessage | null;
	resolveSynced: (value: boolean) => void;
	whenSynced: Promise<boolean>;
	/** The local copy has been applied (or there is none). */
	loaded: boolean;
	whenLoaded: Promise<void>;
	resolveLoaded: () => void;
	ready: boolean;
	createdLocally: boolean;
	/** Sync step 1 (and `create`) sent on the current connection. */
	opened: boolean;
	/** Update and step-2 messages sent on the current connection. */
	sent: number;
	/** The server's latest `saved` count on the current connection. */
	saved: number;
	/** Messages sent on the current connection and not yet covered by `saved`, with the local changes each carries. */
	inFlight: { index: number; changes: number[] }[];
	/** Local changes not yet stored by the server (ids of this client), each with its key in the local copy. */
	pending: Map<number, Promise<number | null>>;
	/** The places each pending change touched (`fields.company`, `notes`…), to count changes as a person made them. */
	places: Map<number, readonly string[]>;
	/** The server refused a change as read-only: local changes are not sent (nor counted) any more. */
	readOnly: boolean;
	/** Open holds on sending (see `holdOutgoing`), and the updates kept back meanwhile with their changes. */
	holds: number;
	held: { update: Uint8Array; change: number }[];
	listeners: { [E in keyof DocEvents]: Set<DocEvents[E]> };
	detach: () => void;
}

/** How to hold back a document's outgoing updates, by document (see `holdOutgoing`). */
const outgoingHolds = new WeakMap<Y.Doc, () => () => void>();

/**
 * Keeps the local changes to `doc` from being sent until the returned function is
 * called, then sends them as one update. For a Chinese input method's composition:
 * the editor writes each keystroke's pinyin into the document, and the others should
 * see only the characters finally chosen. Changes are still kept locally meanwhile.
 * A document no client syncs gets a release that does nothing.
 */
export function holdOutgoing(doc: Y.Doc): () => void {
	return outgoingHolds.get(doc)?.() ?? (() => {});
}

export class SyncClient {
	private socket: SocketLike | null = null;
	private readonly entries = new Map<string, Entry>();
	private readonly statusListeners = new Set<() => void>();
	private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
	private attempts = 0;
	private everConnected = false;
	private destroyed = false;
	private wanted = false;
	/** The server said the session is over: never connect again. */
	private ended = false;
	private checkingSession = false;
	private readonly options: Required<Omit<SyncClientOptions, 'url' | 'WebSocket' | 'onSessionEnded' | 'checkSession' | 'local'>> &
		Pick<SyncClientOptions, 'url' | 'WebSocket' | 'onSessionEnded' | 'checkSession'>;
	private _status: ConnectionStatus = 'connecting';
	private readonly local: Promise<LocalDocs | null>;
	private nextChange = 1;
	private readonly connectListeners = new Set<() => void>();
	private readonly changeListeners = new Set<(name: string, doc: Y.Doc, local: boolean) => void>();

	constructor(options: SyncClientOptions = {}) {
		const { local, ...rest } = options;
		this.options = { minReconnectDelay: 500, maxReconnectDelay: 30_000, autoConnect: true, ...rest };
		this.local = Promise.resolve(local ?? null).catch((error: unknown) => {
			console.warn('[accord sync] the local copy could not be opened; working online only', error);
			return null;
		});
		if (typeof window !== 'undefined') {
			window.addEventListener('online', this.onBrowserOnline);
			window.addEventListener('offline', this.onBrowserOffline);
			window.addEventListener('pagehide', this.onPageHide);
		}
	}

	// ---------------------------------------------------------------- public surface

	/** True once the server has ended the session (close code 4401); the client stays stopped. */
	get sessionEnded(): boolean {
		return this.ended;
	}

	get status(): ConnectionStatus {
		return this._status;
	}

	/** Local changes, over all documents, not yet stored by the server. */
	get pending(): number {
		let total = 0;
		for (const entry of this.entries.values()) total += pendingOf(entry);
		return total;
	}

	/** Pending count per document name (documents with none are left out). */
	pendingByDoc(): Record<string, number> {
		const out: Record<string, number> = {};
		for (const entry of this.entries.values()) {
			const count = pendingOf(entry);
			if (count > 0) out[entry.name] = count;
		}
		return out;
	}

	/** Called whenever status or a pending count changes. */
	onStatus(listener: () => void): () => void {
		this.statusListeners.add(listener);
		return () => this.statusListeners.delete(listener);
	}

	/** Called each time a socket has opened (and every open document has asked to sync). */
	onConnect(listener: () => void): () => void {
		this.connectListeners.add(listener);
		return () => this.connectListeners.delete(listener);
	}

	/** Called after each change to a document (not a workspace channel): `local` for edits made here. */
	onDocChange(listener: (name: string, doc: Y.Doc, local: boolean) => void): () => void {
		this.changeListeners.add(listener);
		return () => this.changeListeners.delete(listener);
	}

	/** Asks the server which records of `workspace` changed since `position`; the answer comes as `changedSince` on the channel. */
	requestCatchUp(workspace: string, position: string | null): boolean {
		if (!this.isOpen()) return false;
		this.send(encodeCatchUp(workspace, position));
		return true;
	}

	connect(): void {
		if (this.destroyed || this.ended) return;
		this.wanted = true;
		if (this.socket) return;
		this.clearReconnect();
		const url = this.options.url ?? defaultUrl();
		const Ctor = this.options.WebSocket ?? (globalThis.WebSocket as unknown as new (url: string) => SocketLike);
		let socket: SocketLike;
		try {
			socket = new Ctor(url);
		} catch {
			this.scheduleReconnect();
			return;
		}
		socket.binaryType = 'arraybuffer';
		this.socket = socket;
		let opened = false;
		if (!this.everConnected) this.setStatus('connecting');
		socket.onopen = () => {
			if (this.socket !== socket) return;
			opened = true;
			this.attempts = 0;
			this.everConnected = true;
			for (const entry of this.entries.values()) this.sendOpen(entry);
			this.refreshStatus();
			for (const listener of this.connectListeners) listener();
		};
		socket.onmessage = (event) => {
			if (this.socket !== socket) return;
			const data = event.data;
			if (data instanceof ArrayBuffer) this.onMessage(new Uint8Array(data));
			else if (data instanceof Uint8Array) this.onMessage(data);
		};
		socket.onerror = () => {
			/* a close event follows */
		};
		socket.onclose = (event) => {
			if (this.socket !== socket) return;
			this.socket = null;
			if (event?.code === CloseCode.unauthorised) {
				this.endSession(event.reason || 'Your session has ended; sign in again.');
				return;
			}
			this.onDisconnect();
			if (this.wanted && !this.destroyed) {
				this.scheduleReconnect();
				if (!opened) this.checkSessionSoon();
			}
		};
	}

	/** Closes the socket and stops reconnecting (documents stay open and resume on `connect()`). */
	disconnect(): void {
		this.wanted = false;
		this.clearReconnect();
		const socket = this.socket;
		this.socket = null;
		if (socket) {
			socket.onclose = null;
			socket.close(1000, 'client disconnect');
			this.onDisconnect();
		}
	}

	destroy(): void {
		this.disconnect();
		this.destroyed = true;
		for (const entry of [...this.entries.values()]) this.dispose(entry);
		if (typeof window !== 'undefined') {
			window.removeEventListener('online', this.onBrowserOnline);
			window.removeEventListener('offline', this.onBrowserOffline);
			window.removeEventListener('pagehide', this.onPageHide);
		}
	}

	/**
	 * Opens a document (a record id, or a workspace channel name) for syncing. Handles of
	 * the same name share one Y.Doc and Awareness; each handle must be released once.
	 */
	open(name: string): DocHandle {
		return this.openEntry(name);
	}

	/**
	 * Creates a document here (a record created offline, say): `write` fills the new
	 * Y.Doc, which is stored locally as a pending change and sent with a `create` frame,
	 * so the server creates the document on first sync. `name` must be new (a fresh UUID).
	 */
	create(name: string, write: (doc: Y.Doc) => void): DocHandle {
		if (this.entries.has(name)) throw new Error(`document ${name} is open already`);
		return this.openEntry(name, write);
	}

	private openEntry(name: string, create?: (doc: Y.Doc) => void): DocHandle {
		let entry = this.entries.get(name);
		if (!entry) {
			entry = this.createEntry(name);
			this.entries.set(name, entry);
			if (create) {
				entry.createdLocally = true;
				create(entry.doc);
				void this.local.then((local) => local?.setCreatedLocally(name, true)).catch(() => {});
				this.markReady(entry);
			}
			void this.loadLocal(entry);
			if (!this.isOpen() && this.options.autoConnect && !this.destroyed) this.connect();
			this.refreshStatus();
		}
		entry.refs++;
		return this.handleFor(entry);
	}

	/** Applies the local copy, then starts syncing (if connected). */
	private async loadLocal(entry: Entry): Promise<void> {
		const local = entry.channel ? null : await this.local;
		if (local && this.entries.get(entry.name) === entry) {
			try {
				const stored = await local.load(entry.name);
				if (this.entries.get(entry.name) !== entry) return;
				if (stored.state) Y.applyUpdate(entry.doc, stored.state, LOCAL_ORIGIN);
				const known = new Set(await Promise.all(entry.pending.values()));
				for (const key of stored.pending) if (!known.has(key)) entry.pending.set(this.nextChange++, Promise.resolve(key));
				if (stored.createdLocally) entry.createdLocally = true;
			} catch (error) {
				console.warn(`[accord sync] could not load the local copy of ${entry.name}`, error);
			}
		}
		if (this.entries.get(entry.name) !== entry) return;
		entry.loaded = true;
		entry.resolveLoaded();
		if (entry.doc.store.clients.size > 0) this.markReady(entry);
		this.pendingChanged(entry);
		if (this.isOpen()) this.sendOpen(entry);
		this.refreshStatus();
	}

	private markReady(entry: Entry): void {
		if (entry.ready) return;
		entry.ready = true;
		for (const listener of entry.listeners.ready) listener();
	}

	// ---------------------------------------------------------------- documents

	private createEntry(name: string): Entry {
		const doc = new Y.Doc();
		const awareness = new awarenessProtocol.Awareness(doc);
		awareness.setLocalState(null);
		let resolveSynced: (value: boolean) => void = () => {};
		const whenSynced = new Promise<boolean>((resolve) => (resolveSynced = resolve));
		let resolveLoaded: () => void = () => {};
		const whenLoaded = new Promise<void>((resolve) => (resolveLoaded = resolve));
		const entry: Entry = {
			name,
			doc,
			awareness,
			channel: isWorkspaceChannel(name),
			refs: 0,
			synced: false,
			syncedNow: false,
			error: null,
			resolveSynced,
			whenSynced,
			loaded: false,
			whenLoaded,
			resolveLoaded,
			ready: false,
			createdLocally: false,
			opened: false,
			sent: 0,
			saved: 0,
			inFlight: [],
			pending: new Map(),
			places: new Map(),
			readOnly: false,
			holds: 0,
			held: [],
			listeners: {
				synced: new Set(),
				sync: new Set(),
				ready: new Set(),
				error: new Set(),
				notKept: new Set(),
				pending: new Set(),
				recordChanged: new Set(),
				changedSince: new Set()
			},
			detach: () => {}
		};
		if (entry.channel) {
			// Presence channels have no document state: they are "synced" at once.
			entry.synced = true;
			entry.ready = true;
			resolveSynced(true);
		}

		const onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
			if (entry.channel || origin === LOCAL_ORIGIN) return;
			if (origin === this) {
				// The server's change: part of the local copy, nothing to send.
				void this.local.then((local) => local?.storeRemote(name, update)).catch((error: unknown) => warnStore(name, error));
				this.docChanged(entry, false);
				return;
			}
			// Refused as read-only: sending would only be refused again, and it can never be saved.
			if (entry.readOnly) return;
			const change = this.nextChange++;
			entry.places.set(change, placesOf(entry.doc, tr));
			entry.pending.set(
				change,
				this.local.then((local) => local?.storeLocal(name, update) ?? null).catch((error: unknown) => {
					warnStore(name, error);
					return null;
				})
			);
			if (this.isOpen() && entry.opened && !entry.error) {
				if (entry.holds > 0) entry.held.push({ update, change });
				else this.sendUpdate(entry, update, [change]);
			}
			// Otherwise the next step 2 carries it (it is in the document).
			this.pendingChanged(entry);
			this.docChanged(entry, true);
		};
		const onAwareness = (
			{ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
			origin: unknown
		) => {
			if (origin === this) return;
			const changed = [...added, ...updated, ...removed];
			if (changed.length === 0 || !this.isOpen()) return;
			this.send(
				encodeFrame(name, MessageType.awareness, (e) =>
					encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, changed))
				)
			);
		};
		doc.on('update', onUpdate);
		awareness.on('update', onAwareness);
		outgoingHolds.set(doc, () => this.hold(entry));
		entry.detach = () => {
			doc.off('update', onUpdate);
			awareness.off('update', onAwareness);
			outgoingHolds.delete(doc);
		};
		return entry;
	}

	private sendUpdate(entry: Entry, update: Uint8Array, changes: number[]): void {
		this.send(encodeFrame(entry.name, MessageType.sync, (e) => syncProtocol.writeUpdate(e, update)));
		entry.sent++;
		entry.inFlight.push({ index: entry.sent, changes });
	}

	/** Keeps this document's local updates back until every hold is released, then sends them as one. */
	private hold(entry: Entry): () => void {
		entry.holds++;
		let released = false;
		return () => {
			if (released) return;
			released = true;
			entry.holds--;
			if (entry.holds > 0 || entry.held.length === 0) return;
			const held = entry.held;
			entry.held = [];
			// Sent on this connection only: after a reconnect the state-vector exchange carried them.
			if (this.isOpen() && entry.opened && !entry.error && !entry.readOnly) {
				this.sendUpdate(entry, Y.mergeUpdates(held.map((h) => h.update)), held.map((h) => h.change));
			}
		};
	}

	private handleFor(entry: Entry): DocHandle {
		let released = false;
		const client = this;
		return {
			name: entry.name,
			doc: entry.doc,
			awareness: entry.awareness,
			get synced() {
				return entry.synced;
			},
			get syncedNow() {
				return entry.syncedNow;
			},
			get ready() {
				return entry.ready;
			},
			whenLoaded: entry.whenLoaded,
			get createdLocally() {
				return entry.createdLocally;
			},
			whenSynced: entry.whenSynced,
			get error() {
				return entry.error;
			},
			get pending() {
				return pendingOf(entry);
			},
			get readOnly() {
				return entry.readOnly;
			},
			markReadOnly() {
				if (entry.readOnly) return;
				entry.readOnly = true;
				entry.inFlight = [];
				client.pendingChanged(entry);
			},
			on(event, listener) {
				const set = entry.listeners[event] as Set<typeof listener>;
				set.add(listener);
				return () => set.delete(listener);
			},
			release() {
				if (released) return;
				released = true;
				entry.refs--;
				if (entry.refs <= 0) client.dispose(entry);
			}
		};
	}

	private dispose(entry: Entry): void {
		if (this.entries.get(entry.name) !== entry) return;
		// Tell the others we left before we stop listening to the awareness.
		if (entry.awareness.getLocalState() !== null) entry.awareness.setLocalState(null);
		entry.detach();
		this.entries.delete(entry.name);
		if (this.isOpen()) this.send(encodeClose(entry.name));
		entry.awareness.destroy();
		entry.doc.destroy();
		entry.resolveSynced(false);
		this.refreshStatus();
	}

	/** Starts syncing one document on a freshly opened socket (once its local copy is in). */
	private sendOpen(entry: Entry): void {
		if (!entry.loaded || entry.opened) return;
		entry.opened = true;
		// A read-only refusal stands for the life of the handle (the role comes with the session).
		if (!entry.readOnly) entry.error = null;
		if (!entry.channel) {
			if (entry.createdLocally && !entry.readOnly) this.send(encodeCreate(entry.name, Y.encodeStateAsUpdate(entry.doc)));
			this.send(encodeFrame(entry.name, MessageType.sync, (e) => syncProtocol.writeSyncStep1(e, entry.doc)));
		}
		const local = entry.awareness.getLocalState();
		if (local !== null) {
			this.send(
				encodeFrame(entry.name, MessageType.awareness, (e) =>
					encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(entry.awareness, [entry.doc.clientID]))
				)
			);
		} else if (entry.channel) {
			this.send(encodeFrame(entry.name, MessageType.queryAwareness));
		}
	}

	// ---------------------------------------------------------------- wire

	private onMessage(bytes: Uint8Array): void {
		let decoder: decoding.Decoder;
		let header: { documentName: string | null; type: number };
		try {
			decoder = decoding.createDecoder(bytes);
			header = readFrameHeader(decoder, true);
		} catch {
			return;
		}
		const entry = header.documentName === null ? undefined : this.entries.get(header.documentName);
		if (!entry) return;
		try {
			switch (header.type) {
				case MessageType.sync:
					this.onSync(entry, decoder);
					break;
				case MessageType.awareness:
					awarenessProtocol.applyAwarenessUpdate(entry.awareness, decoding.readVarUint8Array(decoder), this);
					break;
				case MessageType.queryAwareness:
					if (entry.awareness.getLocalState() !== null) {
						this.send(
							encodeFrame(entry.name, MessageType.awareness, (e) =>
								encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(entry.awareness, [entry.doc.clientID]))
							)
						);
					}
					break;
				case MessageType.refused:
					this.onRefused(entry, decodeRefused(decoder));
					break;
				case MessageType.saved:
					this.onSaved(entry, decoding.readVarUint(decoder));
					break;
				case MessageType.recordChanged: {
					const id = decoding.readVarString(decoder);
					for (const listener of entry.listeners.recordChanged) listener(id);
					break;
				}
				case MessageType.changedSince: {
					const answer = decodeChangedSince(decoder);
					for (const listener of entry.listeners.changedSince) listener(answer);
					break;
				}
				default:
					break;
			}
		} catch (error) {
			console.warn(`[accord sync] could not read a message for ${entry.name}`, error);
		}
	}

	private onSync(entry: Entry, decoder: decoding.Decoder): void {
		if (entry.channel) return;
		const reply = encoding.createEncoder();
		encoding.writeVarString(reply, entry.name);
		encoding.writeVarUint(reply, MessageType.sync);
		const headerLength = encoding.length(reply);
		const type = syncProtocol.readSyncMessage(decoder, reply, entry.doc, this);
		if (encoding.length(reply) > headerLength && !entry.readOnly) {
			// Our step 2: it carries every local change the server lacks (edits made offline,
			// and those stored before a reload, too), so its acknowledgement covers them all.
			// (A read-only reader has none the server would take, and would wait for its ack in vain.)
			this.send(encoding.toUint8Array(reply));
			entry.sent++;
			entry.inFlight.push({ index: entry.sent, changes: [...entry.pending.keys()] });
			this.pendingChanged(entry);
		}
		if (type === syncProtocol.messageYjsSyncStep2 && !entry.syncedNow) {
			entry.syncedNow = true;
			if (entry.createdLocally) {
				// The server has the document now: it was created, or existed already.
				entry.createdLocally = false;
				void this.local.then((local) => local?.setCreatedLocally(entry.name, false)).catch(() => {});
			}
			if (!entry.synced) {
				entry.synced = true;
				entry.resolveSynced(true);
				for (const listener of entry.listeners.synced) listener();
			}
			this.markReady(entry);
			for (const listener of entry.listeners.sync) listener();
			this.refreshStatus();
		}
	}

	/** The server has stored `count` of this connection's messages on the document: their changes are no longer pending. */
	private onSaved(entry: Entry, count: number): void {
		entry.saved = Math.max(entry.saved, count);
		const covered = entry.inFlight.filter((message) => message.index <= entry.saved);
		if (covered.length === 0) return;
		entry.inFlight = entry.inFlight.filter((message) => message.index > entry.saved);
		const keys: Promise<number | null>[] = [];
		for (const message of covered) {
			for (const change of message.changes) {
				const key = entry.pending.get(change);
				if (key === undefined) continue;
				entry.pending.delete(change);
				entry.places.delete(change);
				keys.push(key);
			}
		}
		if (keys.length > 0) {
			void Promise.all([this.local, Promise.all(keys)])
				.then(([local, stored]) => local?.acknowledge(entry.name, stored.filter((key): key is number => key !== null)))
				.catch((error: unknown) => warnStore(entry.name, error));
		}
		this.pendingChanged(entry);
	}

	private docChanged(entry: Entry, local: boolean): void {
		for (const listener of this.changeListeners) listener(entry.name, entry.doc, local);
	}

	private onRefused(entry: Entry, refusal: RefusedMessage): void {
		if (refusal.code === NOT_KEPT) {
			// The server stored the change without a part of it and sent the repair back:
			// nothing to stop, only something to tell the person.
			for (const listener of entry.listeners.notKept) listener(refusal);
			return;
		}
		if (refusal.code === 'read-only') {
			// The document keeps syncing (others' changes still arrive); only our changes are refused.
			const first = !entry.readOnly;
			entry.readOnly = true;
			entry.error = refusal;
			entry.inFlight = [];
			if (first) for (const listener of entry.listeners.error) listener(refusal);
			this.pendingChanged(entry);
			return;
		}
		entry.error = refusal;
		// The server stops syncing a refused document; nothing sent for it will be saved.
		entry.inFlight = [];
		if (refusal.code === 'not-found' && !entry.createdLocally) {
			// It does not exist, or the person may no longer see it: nothing of it is kept here.
			entry.pending.clear();
			entry.places.clear();
			void this.local.then((local) => local?.forget(entry.name)).catch(() => {});
		}
		// Otherwise (a creation refused, the server unable to load it) local changes stay pending.
		if (!entry.synced) entry.resolveSynced(false);
		for (const listener of entry.listeners.error) listener(refusal);
		this.pendingChanged(entry);
		this.refreshStatus();
	}

	private send(bytes: Uint8Array): void {
		if (!this.socket || this.socket.readyState !== OPEN) return;
		if (bytes.byteLength > MAX_MESSAGE_BYTES) {
			console.warn(`[accord sync] a message of ${bytes.byteLength} bytes is over the server's limit`);
		}
		this.socket.send(bytes);
	}

	private isOpen(): boolean {
		return this.socket !== null && this.socket.readyState === OPEN;
	}

	// ---------------------------------------------------------------- connection life

	private onDisconnect(): void {
		for (const entry of this.entries.values()) {
			// What the server has not confirmed stays pending; the next state-vector exchange resends it.
			entry.sent = 0;
			entry.saved = 0;
			entry.inFlight = [];
			entry.held = [];
			entry.opened = false;
			entry.syncedNow = false;
			// Others' presence is unknown while we are away.
			const others = [...entry.awareness.getStates().keys()].filter((id) => id !== entry.doc.clientID);
			if (others.length > 0) awarenessProtocol.removeAwarenessStates(entry.awareness, others, this);
		}
		this.refreshStatus();
	}

	private scheduleReconnect(): void {
		this.clearReconnect();
		if (this.destroyed || !this.wanted) return;
		const { minReconnectDelay: min, maxReconnectDelay: max } = this.options;
		const ceiling = Math.min(max, min * 2 ** this.attempts);
		const delay = ceiling / 2 + Math.random() * (ceiling / 2);
		this.attempts++;
		this.reconnectTimer = setTimeout(() => {
			this.reconnectTimer = null;
			this.connect();
		}, delay);
		this.refreshStatus();
	}

	private clearReconnect(): void {
		if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
		this.reconnectTimer = null;
	}

	/** The server ended the session: stop for good, and let the page send the person to sign in. */
	private endSession(reason: string): void {
		if (this.ended) return;
		this.ended = true;
		this.wanted = false;
		this.clearReconnect();
		this.onDisconnect();
		// The page is being left (signing out, a reload): a closing socket is no reason to navigate.
		if (isLeaving()) return;
		const handler = this.options.onSessionEnded ?? (typeof window !== 'undefined' ? () => signInAgain() : null);
		handler?.(reason);
	}

	/** After a failed attempt: is anyone still signed in? (A refused upgrade gives the browser no reason.) */
	private checkSessionSoon(): void {
		const check = this.options.checkSession ?? (typeof window !== 'undefined' && typeof fetch === 'function' ? browserSessionCheck : null);
		if (!check || this.checkingSession || this.ended) return;
		if (typeof navigator !== 'undefined' && navigator.onLine === false) return;
		this.checkingSession = true;
		check()
			.then((signedIn) => {
				if (!signedIn && !this.destroyed && this.socket === null) this.endSession('Your session has ended; sign in again.');
			})
			.catch(() => {
				/* the server cannot be reached: keep retrying as usual */
			})
			.finally(() => {
				this.checkingSession = false;
			});
	}

	private readonly onBrowserOnline = () => {
		if (!this.wanted || this.socket || this.ended) return;
		this.attempts = 0;
		this.connect();
	};

	private readonly onBrowserOffline = () => {
		// The socket may take a long time to notice; close it now and retry when back.
		if (this.socket) {
			const socket = this.socket;
			this.socket = null;
			socket.onclose = null;
			socket.close(1000, 'browser offline');
			this.onDisconnect();
		}
		this.clearReconnect();
	};

	private readonly onPageHide = () => {
		for (const entry of this.entries.values()) {
			if (entry.awareness.getLocalState() !== null) entry.awareness.setLocalState(null);
		}
	};

	// ---------------------------------------------------------------- status

	private pendingChanged(entry: Entry): void {
		const count = pendingOf(entry);
		for (const listener of entry.listeners.pending) listener(count);
		this.emitStatus();
	}

	private refreshStatus(): void {
		let next: ConnectionStatus;
		if (this.isOpen()) {
			const waiting = [...this.entries.values()].some((e) => !e.channel && !e.syncedNow && (!e.error || e.readOnly));
			next = waiting ? 'syncing' : 'online';
		} else if (!this.everConnected && (this.socket || this.reconnectTimer === null)) {
			next = 'connecting';
		} else {
			next = 'offline';
		}
		this.setStatus(next);
	}

	private setStatus(next: ConnectionStatus): void {
		this._status = next;
		this.emitStatus();
	}

	private emitStatus(): void {
		for (const listener of this.statusListeners) listener();
	}
}

/**
 * Pending changes as a person counts them: one per place changed (a field, the notes, a
 * tag, a contact), however many keystrokes it took. Four edits offline are "4 changes",
 * not one per character typed. A change kept from an earlier visit (its places unknown)
 * counts as one.
 */
function pendingOf(entry: Entry): number {
	if (entry.channel || entry.readOnly) return 0;
	const places = new Set<string>();
	let unknown = 0;
	for (const change of entry.pending.keys()) {
		const touched = entry.places.get(change);
		if (!touched || touched.length === 0) unknown++;
		else for (const place of touched) places.add(place);
	}
	return places.size + unknown;
}

/** The places a local transaction changed: a root map's keys (`fields.company`), an item of a list, or the root itself. */
function placesOf(doc: Y.Doc, tr: Y.Transaction): string[] {
	const places = new Set<string>();
	for (const [type, keys] of tr.changed) {
		let root = type;
		let item: Y.Item | null = null;
		while (root._item !== null) {
			item = root._item;
			root = item.parent as typeof root;
		}
		let name = '?';
		for (const [key, shared] of doc.share) if (shared === root) name = key;
		if (item) places.add(`${name}[${item.id.client}:${item.id.clock}]`);
		else if (type instanceof Y.Map) for (const key of keys) places.add(`${name}.${key ?? ''}`);
		else places.add(name);
	}
	return [...places];
}

function warnStore(name: string, error: unknown): void {
	console.warn(`[accord sync] could not store a change of ${name} locally`, error);
}


/** Any /api request without a session is answered 401 by the server, before any route runs. */
async function browserSessionCheck(): Promise<boolean> {
	const response = await fetch('/api/records?limit=1', { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' });
	return response.status !== 401;
}

function defaultUrl(): string {
	const { protocol, host } = window.location;
	return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}/sync`;
}
