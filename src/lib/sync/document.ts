/**
 * One document as the sync client keeps it: its Y.Doc and awareness, its local copy,
 * the local changes the server has not yet stored, and what the server refused. It
 * speaks the sync protocol for that document over whatever `DocumentWire` it is given
 * (the socket, in `client.ts`; a test's list of frames) and never opens a connection
 * itself. Plain TypeScript, testable alone with real Y.Docs.
 *
 * Transactions whose origin is `remoteOrigin` (the SyncClient) are the server's changes;
 * those whose origin is `LOCAL_ORIGIN` apply the local copy; every other transaction is
 * a local edit and is sent to the server.
 *
 * Access: a document the person may only read is answered with a `refused` frame (code
 * `read-only`) when a change is sent: the handle's `error` says so and later local
 * changes are dropped, not resent. The document keeps syncing others' changes.
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
	MessageType,
	decodeChangedSince,
	decodeRefused,
	encodeClose,
	encodeCreate,
	encodeFrame,
	isWorkspaceChannel,
	type ChangedSince,
	type RefusedMessage
} from '../protocol/index.ts';
import type { LocalDocs } from '../local/types.ts';
import { newDoc } from '../model/record.ts';

/** The code of a refusal that is a notice: the server kept the change but not all of it (see server/sync/shape-guard.ts). */
export const NOT_KEPT = 'not-kept';

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

/** The connection as a document sees it: can a frame go now, and send it. */
export interface DocumentWire {
	isOpen(): boolean;
	send(frame: Uint8Array): void;
}

export interface SyncDocumentOptions {
	/** A record id, or a workspace channel name (presence only: no document state). */
	name: string;
	wire: DocumentWire;
	/** The local copy, once it is open (null: none). */
	local: Promise<LocalDocs | null>;
	/** The origin of the transactions that apply the server's changes; defaults to the document itself. */
	remoteOrigin?: unknown;
	/** The pending count changed (or may have). */
	onPending?: () => void;
	/** Something the connection status depends on changed: loaded, synced on this connection, refused. */
	onSyncState?: () => void;
	/** After each change to the document (not a workspace channel): `local` for edits made here. */
	onChange?: (local: boolean) => void;
	/** Its last handle was released. */
	onReleased?: () => void;
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

export class SyncDocument {
	readonly name: string;
	readonly doc = newDoc();
	readonly awareness: awarenessProtocol.Awareness;
	/** A workspace channel: presence only, "synced" at once, nothing pending. */
	readonly channel: boolean;
	private readonly wire: DocumentWire;
	private readonly local: Promise<LocalDocs | null>;
	private readonly remoteOrigin: unknown;
	private readonly hooks: Pick<SyncDocumentOptions, 'onPending' | 'onSyncState' | 'onChange' | 'onReleased'>;
	private refs = 0;
	/** Left (its last handle released, or the client destroyed): nothing more is done for it. */
	private disposed = false;
	private synced = false;
	/** Synced on the current connection (reset on disconnect). */
	private syncedNow = false;
	private error: RefusedMessage | null = null;
	private resolveSynced: (value: boolean) => void = () => {};
	private readonly whenSynced: Promise<boolean>;
	/** The local copy has been applied (or there is none). */
	private loaded = false;
	private resolveLoaded: () => void = () => {};
	private readonly whenLoaded: Promise<void>;
	private ready = false;
	private createdLocally = false;
	/** Sync step 1 (and `create`) sent on the current connection. */
	private opened = false;
	/** Update and step-2 messages sent on the current connection. */
	private sent = 0;
	/** The server's latest `saved` count on the current connection. */
	private saved = 0;
	/** Messages sent on the current connection and not yet covered by `saved`, with the local changes each carries. */
	private inFlight: { index: number; changes: number[] }[] = [];
	/** Ids of local changes: keys of `pending` and `places`, never shown. */
	private nextChange = 1;
	/** Local changes not yet stored by the server, each with its key in the local copy. */
	private readonly pending = new Map<number, Promise<number | null>>();
	/** The places each pending change touched (`fields.company`, `notes`…), to count changes as a person made them. */
	private readonly places = new Map<number, readonly string[]>();
	/** Local changes are not sent (nor counted): refused by the server as read-only, or marked so by the page. */
	private readOnly = false;
	/** Open holds on sending (see `holdOutgoing`), and the updates kept back meanwhile with their changes. */
	private holds = 0;
	private held: { update: Uint8Array; change: number }[] = [];
	private readonly listeners: { [E in keyof DocEvents]: Set<DocEvents[E]> } = {
		synced: new Set(),
		sync: new Set(),
		ready: new Set(),
		error: new Set(),
		notKept: new Set(),
		pending: new Set(),
		recordChanged: new Set(),
		changedSince: new Set()
	};

	constructor(options: SyncDocumentOptions) {
		const { name, wire, local, remoteOrigin, ...hooks } = options;
		this.name = name;
		this.wire = wire;
		this.local = local;
		this.remoteOrigin = remoteOrigin ?? this;
		this.hooks = hooks;
		this.channel = isWorkspaceChannel(name);
		this.awareness = new awarenessProtocol.Awareness(this.doc);
		this.awareness.setLocalState(null);
		this.whenSynced = new Promise<boolean>((resolve) => (this.resolveSynced = resolve));
		this.whenLoaded = new Promise<void>((resolve) => (this.resolveLoaded = resolve));
		if (this.channel) {
			// Presence channels have no document state: they are "synced" at once.
			this.synced = true;
			this.ready = true;
			this.resolveSynced(true);
		}
		this.doc.on('update', this.onUpdate);
		this.awareness.on('update', this.onAwareness);
		outgoingHolds.set(this.doc, () => this.hold());
	}

	/** Local changes not yet stored by the server, as a person counts them (see `pendingOf`). */
	get pendingCount(): number {
		if (this.channel || this.readOnly) return 0;
		return pendingOf(this.pending.keys(), this.places);
	}

	/** Waiting for the server's state on the current connection (a refused document waits for nothing, unless only its changes were refused). */
	get waiting(): boolean {
		return !this.channel && !this.syncedNow && (!this.error || this.readOnly);
	}

	/** Fills a document created here: stored locally as a pending change and announced with `create` on the next open. */
	createLocally(write: (doc: Y.Doc) => void): void {
		this.createdLocally = true;
		write(this.doc);
		void this.local.then((local) => local?.setCreatedLocally(this.name, true)).catch(() => {});
		this.markReady();
	}

	/** Applies the local copy, then starts syncing (if connected). */
	async load(): Promise<void> {
		const local = this.channel ? null : await this.local;
		if (local && !this.disposed) {
			try {
				const stored = await local.load(this.name);
				if (this.disposed) return;
				if (stored.state) Y.applyUpdate(this.doc, stored.state, LOCAL_ORIGIN);
				const known = new Set(await Promise.all(this.pending.values()));
				for (const key of stored.pending) if (!known.has(key)) this.pending.set(this.nextChange++, Promise.resolve(key));
				if (stored.createdLocally) this.createdLocally = true;
			} catch (error) {
				console.warn(`[accord sync] could not load the local copy of ${this.name}`, error);
			}
		}
		if (this.disposed) return;
		this.loaded = true;
		this.resolveLoaded();
		if (this.doc.store.clients.size > 0) this.markReady();
		this.pendingChanged();
		if (this.wire.isOpen()) this.connected();
		this.hooks.onSyncState?.();
	}

	/** A new handle on this document; the document lives until every handle is released. */
	handle(): DocHandle {
		this.refs++;
		let released = false;
		const document = this;
		return {
			name: this.name,
			doc: this.doc,
			awareness: this.awareness,
			get synced() {
				return document.synced;
			},
			get syncedNow() {
				return document.syncedNow;
			},
			get ready() {
				return document.ready;
			},
			whenLoaded: this.whenLoaded,
			get createdLocally() {
				return document.createdLocally;
			},
			whenSynced: this.whenSynced,
			get error() {
				return document.error;
			},
			get pending() {
				return document.pendingCount;
			},
			get readOnly() {
				return document.readOnly;
			},
			markReadOnly() {
				if (document.readOnly) return;
				document.readOnly = true;
				document.inFlight = [];
				document.pendingChanged();
			},
			on(event, listener) {
				const set = document.listeners[event] as Set<typeof listener>;
				set.add(listener);
				return () => set.delete(listener);
			},
			release() {
				if (released) return;
				released = true;
				document.refs--;
				if (document.refs <= 0) document.hooks.onReleased?.();
			}
		};
	}

	/** Starts syncing on a freshly opened connection (once the local copy is in): `create` if made here, step 1, presence. */
	connected(): void {
		if (!this.loaded || this.opened) return;
		this.opened = true;
		// A read-only refusal stands for the life of the handle (the role comes with the session).
		if (!this.readOnly) this.error = null;
		if (!this.channel) {
			if (this.createdLocally && !this.readOnly) this.wire.send(encodeCreate(this.name, Y.encodeStateAsUpdate(this.doc)));
			this.wire.send(encodeFrame(this.name, MessageType.sync, (e) => syncProtocol.writeSyncStep1(e, this.doc)));
		}
		if (this.awareness.getLocalState() !== null) this.sendPresence();
		else if (this.channel) this.wire.send(encodeFrame(this.name, MessageType.queryAwareness));
	}

	/** The connection is gone: what the server has not confirmed stays pending, and the next state-vector exchange resends it. */
	disconnected(): void {
		this.sent = 0;
		this.saved = 0;
		this.inFlight = [];
		this.held = [];
		this.opened = false;
		this.syncedNow = false;
		// Others' presence is unknown while we are away.
		const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
		if (others.length > 0) awarenessProtocol.removeAwarenessStates(this.awareness, others, this.remoteOrigin);
	}

	/** Reads one frame for this document; `decoder` stands at its payload. */
	receive(type: number, decoder: decoding.Decoder): void {
		try {
			switch (type) {
				case MessageType.sync:
					this.onSync(decoder);
					break;
				case MessageType.awareness:
					awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this.remoteOrigin);
					break;
				case MessageType.queryAwareness:
					if (this.awareness.getLocalState() !== null) this.sendPresence();
					break;
				case MessageType.refused:
					this.onRefused(decodeRefused(decoder));
					break;
				case MessageType.saved:
					this.onSaved(decoding.readVarUint(decoder));
					break;
				case MessageType.recordChanged: {
					const id = decoding.readVarString(decoder);
					for (const listener of this.listeners.recordChanged) listener(id);
					break;
				}
				case MessageType.changedSince: {
					const answer = decodeChangedSince(decoder);
					for (const listener of this.listeners.changedSince) listener(answer);
					break;
				}
				default:
					break;
			}
		} catch (error) {
			console.warn(`[accord sync] could not read a message for ${this.name}`, error);
		}
	}

	/** Withdraws this tab's presence (the page is being hidden or left). */
	clearPresence(): void {
		if (this.awareness.getLocalState() !== null) this.awareness.setLocalState(null);
	}

	/** The first half of stopping: tells the others we left, then stops listening to the document. */
	leave(): void {
		this.disposed = true;
		// Tell the others we left before we stop listening to the awareness.
		this.clearPresence();
		this.doc.off('update', this.onUpdate);
		this.awareness.off('update', this.onAwareness);
		outgoingHolds.delete(this.doc);
	}

	/** The second half: tells the server to stop syncing it here, and destroys the Y.Doc. */
	close(): void {
		if (this.wire.isOpen()) this.wire.send(encodeClose(this.name));
		this.awareness.destroy();
		this.doc.destroy();
		this.resolveSynced(false);
	}

	private readonly onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
		if (this.channel || origin === LOCAL_ORIGIN) return;
		if (origin === this.remoteOrigin) {
			// The server's change: part of the local copy, nothing to send.
			void this.local.then((local) => local?.storeRemote(this.name, update)).catch((error: unknown) => warnStore(this.name, error));
			this.hooks.onChange?.(false);
			return;
		}
		// Refused as read-only: sending would only be refused again, and it can never be saved.
		if (this.readOnly) return;
		const change = this.nextChange++;
		this.places.set(change, placesOf(this.doc, tr));
		this.pending.set(
			change,
			this.local
				.then((local) => local?.storeLocal(this.name, update) ?? null)
				.catch((error: unknown) => {
					warnStore(this.name, error);
					return null;
				})
		);
		if (this.wire.isOpen() && this.opened && !this.error) {
			if (this.holds > 0) this.held.push({ update, change });
			else this.sendUpdate(update, [change]);
		}
		// Otherwise the next step 2 carries it (it is in the document).
		this.pendingChanged();
		this.hooks.onChange?.(true);
	};

	private readonly onAwareness = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
		if (origin === this.remoteOrigin) return;
		const changed = [...added, ...updated, ...removed];
		if (changed.length === 0 || !this.wire.isOpen()) return;
		this.wire.send(
			encodeFrame(this.name, MessageType.awareness, (e) =>
				encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed))
			)
		);
	};

	private sendPresence(): void {
		this.wire.send(
			encodeFrame(this.name, MessageType.awareness, (e) =>
				encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.doc.clientID]))
			)
		);
	}

	private sendUpdate(update: Uint8Array, changes: number[]): void {
		this.wire.send(encodeFrame(this.name, MessageType.sync, (e) => syncProtocol.writeUpdate(e, update)));
		this.sent++;
		this.inFlight.push({ index: this.sent, changes });
	}

	/** Keeps this document's local updates back until every hold is released, then sends them as one. */
	private hold(): () => void {
		this.holds++;
		let released = false;
		return () => {
			if (released) return;
			released = true;
			this.holds--;
			if (this.holds > 0 || this.held.length === 0) return;
			const held = this.held;
			this.held = [];
			// Sent on this connection only: after a reconnect the state-vector exchange carried them.
			if (this.wire.isOpen() && this.opened && !this.error && !this.readOnly) {
				this.sendUpdate(
					Y.mergeUpdates(held.map((h) => h.update)),
					held.map((h) => h.change)
				);
			}
		};
	}

	private markReady(): void {
		if (this.ready) return;
		this.ready = true;
		for (const listener of this.listeners.ready) listener();
	}

	private pendingChanged(): void {
		const count = this.pendingCount;
		for (const listener of this.listeners.pending) listener(count);
		this.hooks.onPending?.();
	}

	private onSync(decoder: decoding.Decoder): void {
		if (this.channel) return;
		const reply = encoding.createEncoder();
		encoding.writeVarString(reply, this.name);
		encoding.writeVarUint(reply, MessageType.sync);
		const headerLength = encoding.length(reply);
		const type = syncProtocol.readSyncMessage(decoder, reply, this.doc, this.remoteOrigin);
		if (encoding.length(reply) > headerLength && !this.readOnly) {
			// Our step 2: it carries every local change the server lacks (edits made offline,
			// and those stored before a reload, too), so its acknowledgement covers them all.
			// (A read-only reader has none the server would take, and would wait for its ack in vain.)
			this.wire.send(encoding.toUint8Array(reply));
			this.sent++;
			this.inFlight.push({ index: this.sent, changes: [...this.pending.keys()] });
			this.pendingChanged();
		}
		if (type === syncProtocol.messageYjsSyncStep2 && !this.syncedNow) {
			this.syncedNow = true;
			if (this.createdLocally) {
				// The server has the document now: it was created, or existed already.
				this.createdLocally = false;
				void this.local.then((local) => local?.setCreatedLocally(this.name, false)).catch(() => {});
			}
			if (!this.synced) {
				this.synced = true;
				this.resolveSynced(true);
				for (const listener of this.listeners.synced) listener();
			}
			this.markReady();
			for (const listener of this.listeners.sync) listener();
			this.hooks.onSyncState?.();
		}
	}

	/** The server has stored `count` of this connection's messages on the document: their changes are no longer pending. */
	private onSaved(count: number): void {
		this.saved = Math.max(this.saved, count);
		const covered = this.inFlight.filter((message) => message.index <= this.saved);
		if (covered.length === 0) return;
		this.inFlight = this.inFlight.filter((message) => message.index > this.saved);
		const keys: Promise<number | null>[] = [];
		for (const message of covered) {
			for (const change of message.changes) {
				const key = this.pending.get(change);
				if (key === undefined) continue;
				this.pending.delete(change);
				this.places.delete(change);
				keys.push(key);
			}
		}
		if (keys.length > 0) {
			void Promise.all([this.local, Promise.all(keys)])
				.then(([local, stored]) => local?.acknowledge(this.name, stored.filter((key): key is number => key !== null)))
				.catch((error: unknown) => warnStore(this.name, error));
		}
		this.pendingChanged();
	}

	private onRefused(refusal: RefusedMessage): void {
		if (refusal.code === NOT_KEPT) {
			// The server stored the change without a part of it and sent the repair back:
			// nothing to stop, only something to tell the person.
			for (const listener of this.listeners.notKept) listener(refusal);
			return;
		}
		if (refusal.code === 'read-only') {
			// The document keeps syncing (others' changes still arrive); only our changes are refused.
			const first = !this.readOnly;
			this.readOnly = true;
			this.error = refusal;
			this.inFlight = [];
			if (first) for (const listener of this.listeners.error) listener(refusal);
			this.pendingChanged();
			return;
		}
		this.error = refusal;
		// The server stops syncing a refused document; nothing sent for it will be saved.
		this.inFlight = [];
		if (refusal.code === 'not-found' && !this.createdLocally) {
			// It does not exist, or the person may no longer see it: nothing of it is kept here.
			this.pending.clear();
			this.places.clear();
			void this.local.then((local) => local?.forget(this.name)).catch(() => {});
		}
		// Otherwise (a creation refused, the server unable to load it) local changes stay pending.
		if (!this.synced) this.resolveSynced(false);
		for (const listener of this.listeners.error) listener(refusal);
		this.pendingChanged();
		this.hooks.onSyncState?.();
	}
}

/**
 * Pending changes as a person counts them: one per place changed (a field, the notes, a
 * tag, a contact), however many keystrokes it took. Four edits offline are "4 changes",
 * not one per character typed. A change kept from an earlier visit (its places unknown)
 * counts as one.
 */
function pendingOf(changes: Iterable<number>, placesByChange: ReadonlyMap<number, readonly string[]>): number {
	const places = new Set<string>();
	let unknown = 0;
	for (const change of changes) {
		const touched = placesByChange.get(change);
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
