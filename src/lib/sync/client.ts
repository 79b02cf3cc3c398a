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
 * It is thin: it ties two parts that know nothing of each other. `socket.ts` is the
 * connection (connect, reconnect with backoff, frames, the session's end on 4401);
 * `document.ts` is one document's state (its Y.Doc, local copy, pending changes,
 * refusals). The client routes each frame to its document by name, tells every
 * document when the connection opens or is lost, and sums their state into one
 * connection status and pending count.
 *
 * Transactions whose origin is the client itself are remote changes; every other
 * transaction is a local edit and is sent to the server (see `document.ts`).
 */
import type * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { encodeCatchUp, readFrameHeader } from '../protocol/index.ts';
import { SyncDocument, type DocHandle } from './document.ts';
import { SyncSocket, type SyncSocketOptions } from './socket.ts';
import type { LocalDocs } from '../local/types.ts';

export { LOCAL_ORIGIN, NOT_KEPT, holdOutgoing, type DocEvents, type DocHandle } from './document.ts';
export type { SocketLike } from './socket.ts';

export type ConnectionStatus = 'connecting' | 'online' | 'offline' | 'syncing';

export interface SyncClientOptions extends SyncSocketOptions {
	/** Connect on the first `open()` (default) or only on `connect()`. */
	autoConnect?: boolean;
	/**
	 * The local copy of documents (IndexedDB in a browser), or a promise of it while it
	 * is being opened: documents wait for it before syncing. Null or absent: none.
	 */
	local?: LocalDocs | Promise<LocalDocs | null> | null;
}

export class SyncClient {
	private readonly socket: SyncSocket;
	private readonly documents = new Map<string, SyncDocument>();
	private readonly statusListeners = new Set<() => void>();
	private readonly autoConnect: boolean;
	private _status: ConnectionStatus = 'connecting';
	private readonly local: Promise<LocalDocs | null>;
	private readonly connectListeners = new Set<() => void>();
	private readonly changeListeners = new Set<(name: string, doc: Y.Doc, local: boolean) => void>();

	constructor(options: SyncClientOptions = {}) {
		const { local, autoConnect, ...socketOptions } = { autoConnect: true, ...options };
		this.autoConnect = autoConnect;
		this.local = Promise.resolve(local ?? null).catch((error: unknown) => {
			console.warn('[accord sync] the local copy could not be opened; working online only', error);
			return null;
		});
		this.socket = new SyncSocket(socketOptions, {
			connecting: () => this.setStatus('connecting'),
			opened: () => {
				for (const document of this.documents.values()) document.connected();
				this.refreshStatus();
				for (const listener of this.connectListeners) listener();
			},
			message: (bytes) => this.onMessage(bytes),
			disconnected: () => {
				for (const document of this.documents.values()) document.disconnected();
				this.refreshStatus();
			},
			phaseChanged: () => this.refreshStatus()
		});
		if (typeof window !== 'undefined') window.addEventListener('pagehide', this.onPageHide);
	}

	// ---------------------------------------------------------------- public surface

	/** True once the server has ended the session (close code 4401); the client stays stopped. */
	get sessionEnded(): boolean {
		return this.socket.sessionEnded;
	}

	get status(): ConnectionStatus {
		return this._status;
	}

	/** Local changes, over all documents, not yet stored by the server. */
	get pending(): number {
		let total = 0;
		for (const document of this.documents.values()) total += document.pendingCount;
		return total;
	}

	/** Pending count per document name (documents with none are left out). */
	pendingByDoc(): Record<string, number> {
		const out: Record<string, number> = {};
		for (const document of this.documents.values()) {
			const count = document.pendingCount;
			if (count > 0) out[document.name] = count;
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
		if (!this.socket.isOpen()) return false;
		this.socket.send(encodeCatchUp(workspace, position));
		return true;
	}

	connect(): void {
		this.socket.connect();
	}

	/** Closes the socket and stops reconnecting (documents stay open and resume on `connect()`). */
	disconnect(): void {
		this.socket.disconnect();
	}

	destroy(): void {
		this.socket.destroy();
		for (const document of [...this.documents.values()]) this.dispose(document);
		if (typeof window !== 'undefined') window.removeEventListener('pagehide', this.onPageHide);
	}

	/**
	 * Opens a document (a record id, or a workspace channel name) for syncing. Handles of
	 * the same name share one Y.Doc and Awareness; each handle must be released once.
	 */
	open(name: string): DocHandle {
		return this.openDocument(name);
	}

	/**
	 * Creates a document here (a record created offline, say): `write` fills the new
	 * Y.Doc, which is stored locally as a pending change and sent with a `create` frame,
	 * so the server creates the document on first sync. `name` must be new (a fresh UUID).
	 */
	create(name: string, write: (doc: Y.Doc) => void): DocHandle {
		if (this.documents.has(name)) throw new Error(`document ${name} is open already`);
		return this.openDocument(name, write);
	}

	// ---------------------------------------------------------------- documents

	private openDocument(name: string, create?: (doc: Y.Doc) => void): DocHandle {
		let document = this.documents.get(name);
		if (!document) {
			const created: SyncDocument = new SyncDocument({
				name,
				wire: this.socket,
				local: this.local,
				remoteOrigin: this,
				onPending: () => this.emitStatus(),
				onSyncState: () => this.refreshStatus(),
				onChange: (local) => {
					for (const listener of this.changeListeners) listener(name, created.doc, local);
				},
				onReleased: () => this.dispose(created)
			});
			document = created;
			this.documents.set(name, document);
			if (create) document.createLocally(create);
			void document.load();
			if (!this.socket.isOpen() && this.autoConnect) this.socket.connect();
			this.refreshStatus();
		}
		return document.handle();
	}

	private dispose(document: SyncDocument): void {
		if (this.documents.get(document.name) !== document) return;
		document.leave();
		this.documents.delete(document.name);
		document.close();
		this.refreshStatus();
	}

	/** Hands a frame to the document it names; frames for documents not open here are ignored. */
	private onMessage(bytes: Uint8Array): void {
		let decoder: decoding.Decoder;
		let header: { documentName: string | null; type: number };
		try {
			decoder = decoding.createDecoder(bytes);
			header = readFrameHeader(decoder, true);
		} catch {
			return;
		}
		const document = header.documentName === null ? undefined : this.documents.get(header.documentName);
		document?.receive(header.type, decoder);
	}

	private readonly onPageHide = () => {
		for (const document of this.documents.values()) document.clearPresence();
	};

	// ---------------------------------------------------------------- status

	private refreshStatus(): void {
		const phase = this.socket.phase;
		const waiting = phase === 'open' && [...this.documents.values()].some((document) => document.waiting);
		this.setStatus(phase === 'open' ? (waiting ? 'syncing' : 'online') : phase);
	}

	private setStatus(next: ConnectionStatus): void {
		this._status = next;
		this.emitStatus();
	}

	private emitStatus(): void {
		for (const listener of this.statusListeners) listener();
	}
}
