/**
 * The test clients of the sync endpoints, one of each kind, so tests say what they do
 * with a socket rather than how to speak the protocol:
 *
 * - `SyncTestClient` speaks Accord's protocol frame by frame, on `/sync` (many documents
 *   on one socket) or `/y/<id>` (one document, y-websocket's framing), as an API token
 *   (sent in the address, as browsers must) or a session cookie. It syncs a Y.Doc per
 *   document it opens, sends its edits, and keeps every frame it receives, decoded
 *   (refusals, acknowledgements, notices, catch-up answers, presence), for a test to
 *   wait for and look at. Edits can be named: the server's `saved` counts say which of
 *   them are stored. Its socket can be dropped and opened again, on the same server or
 *   another; edits made meanwhile ride on the next sync step 2, as with a real client.
 * - `yWebsocketClient` is the stock y-websocket client (`WebsocketProvider`), as any Yjs
 *   editor binding uses `/y/<id>`.
 *
 * Tests that send bytes no client would (malformed frames, floods, a socket that stops
 * reading) use a raw `ws` socket instead, and say why.
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import type * as encoding from 'lib0/encoding';
import * as authProtocol from 'y-protocols/auth';
import * as syncProtocol from 'y-protocols/sync';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { MessageType, decodeChangedSince, decodeRefused, encodeFrame, readFrameHeader, type ChangedSince, type MessageTypeCode, type RefusedMessage } from '../../src/lib/protocol/index.ts';
import type { Role } from '../../src/lib/access.ts';
import { eventually, tokenFor } from './server.ts';

/** A server: one running here or in a child process (anything with its http `url`), or a ws:// base address. */
export type SocketServer = { readonly url: string } | string;

/**
 * Who a socket speaks for: a role (that role's API token on an in-process test server),
 * an API token, a session cookie, or nobody.
 */
export type SocketCredentials = Role | { token: string } | { cookie: string } | null;

function baseOf(server: SocketServer): string {
	return typeof server === 'string' ? server : server.url.replace(/^http/, 'ws');
}

function tokenOf(base: string, credentials: Role | { token: string }): string {
	return typeof credentials === 'string' ? tokenFor(base.replace(/^ws/, 'http'), credentials) : credentials.token;
}

interface FrameOf<T extends MessageTypeCode, D> {
	readonly documentName: string;
	readonly type: T;
	readonly detail: D;
}

/** A frame received, with what it says. */
export type Frame =
	/** Which sync message (step 1, step 2, update); applied to the document's copy if it is open here. */
	| FrameOf<typeof MessageType.sync, number>
	/** The awareness update, as sent. */
	| FrameOf<typeof MessageType.awareness, Uint8Array>
	| FrameOf<typeof MessageType.auth, { permissionDenied: string }>
	| FrameOf<typeof MessageType.refused, RefusedMessage>
	/** How many update messages of this connection on this document are stored. */
	| FrameOf<typeof MessageType.saved, number>
	/** The id of the record whose list row changed. */
	| FrameOf<typeof MessageType.recordChanged, string>
	| FrameOf<typeof MessageType.changedSince, ChangedSince>;

type FrameOfType<T extends MessageTypeCode> = Extract<Frame, { type: T }>;

/** A document open on the client: its copy, and what this connection sent of it. */
class OpenDocument {
	/** The server's sync step 2 arrived on this connection. */
	synced = false;
	/** Update-carrying messages (sync step 2s and updates) sent on this connection: what the server's `saved` counts. */
	sent = 0;
	/** The named edits each of those messages carried, by its number. */
	readonly carried = new Map<number, string[]>();
	/** Named edits not acknowledged on any connection yet (sent or not). */
	readonly unacked = new Set<string>();

	constructor(readonly doc: Y.Doc) {}

	restart(): void {
		this.synced = false;
		this.sent = 0;
		this.carried.clear();
	}
}

export interface SyncTestClientOptions {
	/** `/sync` (the default) or `/y/<recordId>`. */
	path?: string;
	/** For messages, and for tests that tell clients apart. */
	name?: string;
	/** More headers on the upgrade request (e.g. Origin). */
	headers?: Record<string, string>;
	/** Documents to open from the start (on `/y/<id>`, that one is). */
	open?: string[];
}

export class SyncTestClient {
	readonly name: string;
	readonly path: string;
	/** Every frame received, over all connections, in order. */
	readonly frames: Frame[] = [];
	/** Frames that could not be read or applied, with why. */
	readonly errors: string[] = [];
	/** Named edits the server acknowledged as stored. */
	readonly acked = new Set<string>();
	/** Called with each frame once it is handled (a sync update applied to its copy). */
	onFrame: ((frame: Frame) => void) | null = null;
	socket: WebSocket | null = null;
	/** How the current socket was closed; null while it opens or is open. */
	closed: { code: number; reason: string } | null = null;
	/** The HTTP status the current socket's upgrade was refused with; null if it was not. */
	refusedWith: number | null = null;
	/** The current socket's opening; rejects (`upgrade refused with HTTP 401`) if the server refuses it. */
	ready: Promise<void> = Promise.resolve();
	private base: string;
	private readonly documents = new Map<string, OpenDocument>();
	/** On `/y/<id>`, that id: its frames name no document. Null on `/sync`. */
	private readonly single: string | null;
	/** Frames sent while the socket opens. */
	private readonly queued: Uint8Array[] = [];
	private editing: string | null = null;
	private readonly taken = new WeakSet<Frame>();

	constructor(
		server: SocketServer,
		private readonly credentials: SocketCredentials,
		private readonly options: SyncTestClientOptions = {}
	) {
		this.base = baseOf(server);
		this.path = options.path ?? '/sync';
		this.name = options.name ?? this.path;
		this.single = this.path.startsWith('/y/') ? this.path.slice('/y/'.length) : null;
		for (const name of this.single === null ? (options.open ?? []) : [this.single]) this.open(name);
	}

	get connected(): boolean {
		return this.socket?.readyState === WebSocket.OPEN;
	}

	/** Opens a socket (to `server`, or where the last one went); resolves once it is open and every open document has synced on it. */
	async connect(server?: SocketServer, timeoutMs = 10_000): Promise<void> {
		this.openSocket(server);
		await this.whenSynced(timeoutMs);
	}

	/** Starts opening a socket (to `server`, or where the last one went), on which open documents sync again; `ready` says when it is open. */
	openSocket(server?: SocketServer): Promise<void> {
		if (server !== undefined) this.base = baseOf(server);
		this.socket?.terminate();
		this.queued.length = 0;
		this.closed = null;
		this.refusedWith = null;
		const url = new URL(this.path, this.base);
		const headers = { ...this.options.headers };
		if (this.credentials !== null && typeof this.credentials === 'object' && 'cookie' in this.credentials) headers.cookie = this.credentials.cookie;
		else if (this.credentials !== null) url.searchParams.set('token', tokenOf(this.base, this.credentials));
		const socket = new WebSocket(url, { headers });
		socket.binaryType = 'nodebuffer';
		this.socket = socket;
		socket.on('message', (data: Buffer) => {
			if (socket === this.socket) this.receive(new Uint8Array(data));
		});
		socket.on('close', (code, reason) => {
			if (socket === this.socket) this.closed = { code, reason: reason.toString() };
		});
		socket.on('error', () => undefined);
		this.ready = new Promise<void>((resolve, reject) => {
			socket.once('open', () => {
				for (const frame of this.queued.splice(0)) socket.send(frame);
				resolve();
			});
			socket.once('unexpected-response', (_request, response) => {
				this.refusedWith = response.statusCode ?? 0;
				reject(new Error(`upgrade refused with HTTP ${this.refusedWith}`));
				socket.terminate();
			});
			socket.once('error', reject);
		});
		// Tests that expect a refusal await it; nobody else needs to.
		this.ready.catch(() => undefined);
		for (const [name, document] of this.documents) {
			document.restart();
			this.sendSyncStep1(name, document);
		}
		return this.ready;
	}

	/** Drops the socket without a goodbye (what a client sees when its server dies). */
	disconnect(): void {
		this.socket?.terminate();
		this.socket = null;
	}

	/** 101 once the socket is open, or the HTTP status its upgrade was refused with. */
	async upgradeStatus(): Promise<number> {
		try {
			await this.ready;
			return 101;
		} catch (error) {
			if (this.refusedWith !== null) return this.refusedWith;
			throw error;
		}
	}

	/**
	 * Starts syncing a document on this socket and every later one; returns its copy. A
	 * document already open asks to sync again (its sync step 1 once more).
	 */
	open(name: string, doc?: Y.Doc): Y.Doc {
		const existing = this.documents.get(name);
		if (existing) {
			if (doc && doc !== existing.doc) throw new Error(`${name} is open with another Y.Doc`);
			this.sendSyncStep1(name, existing);
			return existing.doc;
		}
		const document = new OpenDocument(doc ?? new Y.Doc());
		this.documents.set(name, document);
		document.doc.on('update', (update: Uint8Array, origin: unknown) => {
			if (origin === this) return;
			const edits = this.editing === null ? [] : [this.editing];
			for (const edit of edits) document.unacked.add(edit);
			this.sendCounted(name, document, (e) => syncProtocol.writeUpdate(e, update), edits);
		});
		if (this.socket) this.sendSyncStep1(name, document);
		return document.doc;
	}

	/** The copy of an open document (opened now if it is not). */
	doc(name: string): Y.Doc {
		return this.documents.get(name)?.doc ?? this.open(name);
	}

	/** Makes one edit of a document as one transaction (one update message), remembered as `edit` until the server acknowledges it. */
	edit(documentName: string, edit: string, change: (doc: Y.Doc) => void): void {
		const doc = this.doc(documentName);
		this.editing = edit;
		try {
			doc.transact(() => change(doc));
		} finally {
			this.editing = null;
		}
	}

	/** Resolves once the socket is open and every open document has had the server's sync step 2 on it. */
	async whenSynced(timeoutMs = 10_000): Promise<void> {
		await this.ready;
		const names = [...this.documents.keys()].join(', ');
		await eventually(() => [...this.documents.values()].every((d) => d.synced), `${this.name} to sync ${names}`, timeoutMs);
	}

	/** Sends a frame as it is: queued while the socket opens, dropped once it is closed. */
	send(frame: Uint8Array): void {
		const socket = this.socket;
		if (socket?.readyState === WebSocket.OPEN) socket.send(frame);
		else if (socket?.readyState === WebSocket.CONNECTING) this.queued.push(frame);
	}

	/** Asks for everyone's presence on a document (on a workspace channel, this joins it). */
	queryAwareness(documentName: string): void {
		this.send(this.frame(documentName, MessageType.queryAwareness));
	}

	/** The frames of one type received for a document. */
	of<T extends MessageTypeCode>(documentName: string, type: T): FrameOfType<T>[] {
		return this.frames.filter((frame): frame is FrameOfType<T> => frame.documentName === documentName && frame.type === type);
	}

	/** What the last frame of this type for the document said. */
	last<T extends MessageTypeCode>(documentName: string, type: T): FrameOfType<T>['detail'] | undefined {
		// (TypeScript does not narrow a generic Extract's property to its own type.)
		return this.of(documentName, type).at(-1)?.detail as FrameOfType<T>['detail'] | undefined;
	}

	/** Waits for the first frame of this type for the document that no earlier `next` returned, and returns what it said. */
	async next<T extends MessageTypeCode>(documentName: string, type: T, timeoutMs = 10_000): Promise<FrameOfType<T>['detail']> {
		let found: FrameOfType<T> | undefined;
		await eventually(
			() => {
				found = this.of(documentName, type).find((frame) => !this.taken.has(frame));
				return found !== undefined;
			},
			`${this.name}: a frame of type ${type} for ${documentName}`,
			timeoutMs
		);
		this.taken.add(found!);
		return found!.detail as FrameOfType<T>['detail'];
	}

	/** The presence entries of every awareness frame received for a document, in order (a state is null once its client left). */
	presence(documentName: string): Array<{ client: number; clock: number; state: unknown }> {
		return this.of(documentName, MessageType.awareness).flatMap(({ detail }) => {
			const decoder = decoding.createDecoder(detail);
			return Array.from({ length: decoding.readVarUint(decoder) }, () => ({
				client: decoding.readVarUint(decoder),
				clock: decoding.readVarUint(decoder),
				state: JSON.parse(decoding.readVarString(decoder)) as unknown
			}));
		});
	}

	/** Ids of the records whose `recordChanged` notices arrived, in order. */
	notices(): string[] {
		return this.frames.flatMap((frame) => (frame.type === MessageType.recordChanged ? [frame.detail] : []));
	}

	private frame(documentName: string, type: MessageTypeCode, write?: (encoder: encoding.Encoder) => void): Uint8Array {
		return encodeFrame(this.single === null ? documentName : null, type, write);
	}

	private sendSyncStep1(name: string, document: OpenDocument): void {
		this.send(this.frame(name, MessageType.sync, (e) => syncProtocol.writeSyncStep1(e, document.doc)));
	}

	/** Sends an update-carrying message, numbered as the server counts them; while not connected, it rides on the next sync step 2 instead. */
	private sendCounted(name: string, document: OpenDocument, write: (encoder: encoding.Encoder) => void, edits: string[]): void {
		if (!this.connected) return;
		document.carried.set(++document.sent, edits);
		this.send(this.frame(name, MessageType.sync, write));
	}

	private receive(bytes: Uint8Array): void {
		let frame: Frame;
		try {
			frame = this.decode(bytes);
		} catch (error) {
			this.errors.push((error as Error).message);
			return;
		}
		this.frames.push(frame);
		this.onFrame?.(frame);
	}

	private decode(bytes: Uint8Array): Frame {
		const decoder = decoding.createDecoder(bytes);
		const header = readFrameHeader(decoder, this.single === null);
		const documentName = header.documentName ?? this.single!;
		switch (header.type) {
			case MessageType.sync:
				return { documentName, type: MessageType.sync, detail: this.sync(documentName, decoder) };
			case MessageType.awareness:
				return { documentName, type: MessageType.awareness, detail: decoding.readVarUint8Array(decoder) };
			case MessageType.auth: {
				const denied = decoding.readVarUint(decoder) === authProtocol.messagePermissionDenied;
				return { documentName, type: MessageType.auth, detail: { permissionDenied: denied ? decoding.readVarString(decoder) : '' } };
			}
			case MessageType.refused:
				return { documentName, type: MessageType.refused, detail: decodeRefused(decoder) };
			case MessageType.saved: {
				const count = decoding.readVarUint(decoder);
				this.acknowledge(documentName, count);
				return { documentName, type: MessageType.saved, detail: count };
			}
			case MessageType.recordChanged:
				return { documentName, type: MessageType.recordChanged, detail: decoding.readVarString(decoder) };
			case MessageType.changedSince:
				return { documentName, type: MessageType.changedSince, detail: decodeChangedSince(decoder) };
			default:
				throw new Error(`a frame of type ${header.type}, which the server does not send`);
		}
	}

	/** Handles a sync message; returns its type. On a document not open here it is noted only. */
	private sync(name: string, decoder: decoding.Decoder): number {
		const syncType = decoding.readVarUint(decoder);
		const document = this.documents.get(name);
		if (!document) return syncType;
		if (syncType === syncProtocol.messageYjsSyncStep1) {
			// The server asks for what it lacks: every edit not acknowledged yet rides on this reply.
			const stateVector = decoding.readVarUint8Array(decoder);
			this.sendCounted(name, document, (e) => syncProtocol.writeSyncStep2(e, document.doc, stateVector), [...document.unacked]);
		} else if (syncType === syncProtocol.messageYjsSyncStep2 || syncType === syncProtocol.messageYjsUpdate) {
			Y.applyUpdate(document.doc, decoding.readVarUint8Array(decoder), this);
			if (syncType === syncProtocol.messageYjsSyncStep2) document.synced = true;
		} else {
			throw new Error(`sync message of unknown type ${syncType}`);
		}
		return syncType;
	}

	private acknowledge(name: string, count: number): void {
		const document = this.documents.get(name);
		if (!document) return;
		for (const [index, edits] of document.carried) {
			if (index > count) continue;
			for (const edit of edits) {
				this.acked.add(edit);
				document.unacked.delete(edit);
			}
			document.carried.delete(index);
		}
	}
}

/** A client of `/sync` (or of `/y/<id>`, with `path`) that starts connecting at once: `await client.ready` for its socket to open. */
export function syncClient(server: SocketServer, credentials: SocketCredentials, options: SyncTestClientOptions = {}): SyncTestClient {
	const client = new SyncTestClient(server, credentials, options);
	void client.openSocket();
	return client;
}

/* ------------------------------------------------------------------------------------ */
/* The stock y-websocket client. */

export interface YWebsocketClient {
	doc: Y.Doc;
	provider: WebsocketProvider;
}

/**
 * A stock y-websocket client (as any Yjs editor binding uses) of one record on `/y`,
 * with an API token; it connects at once and reconnects by itself.
 */
export function yWebsocketClient(
	server: SocketServer,
	credentials: Role | { token: string },
	recordId: string,
	options: { doc?: Y.Doc; maxBackoffTime?: number } = {}
): YWebsocketClient {
	const base = baseOf(server);
	const doc = options.doc ?? new Y.Doc();
	const provider = new WebsocketProvider(`${base}/y`, recordId, doc, {
		WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
		params: { token: tokenOf(base, credentials) },
		disableBc: true,
		maxBackoffTime: options.maxBackoffTime ?? 500
	});
	return { doc, provider };
}

/** Resolves once every provider has synced. */
export function providersSynced(...providers: WebsocketProvider[]): Promise<void> {
	return eventually(() => providers.every((provider) => provider.synced), providers.length > 1 ? 'the providers to sync' : 'the provider to sync');
}

/** Sends the stock client to another server (as a load balancer would after a failure): it reconnects there by itself. */
export function moveProvider(provider: WebsocketProvider, server: SocketServer): void {
	provider.serverUrl = `${baseOf(server)}/y`;
}
