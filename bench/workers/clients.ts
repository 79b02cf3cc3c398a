/**
 * A load-generator process: many simulated Yjs clients over real WebSockets, driven by
 * the benchmark over IPC. Each client holds one record's Y.Doc through a stock
 * provider (y-websocket's `WebsocketProvider`, or Hocuspocus's own provider), edits
 * fields and types notes at a given rate, shows presence, and watches the others.
 *
 * Latency: every edit also stamps `bench[clientKey] = [seq, sentAt]` in the same Yjs
 * transaction; a client that applies a remote transaction carrying stamps records
 * `appliedAt - sentAt` for each. Times are CLOCK_MONOTONIC (`process.hrtime`), one clock
 * for every process on the machine.
 */
import * as Y from 'yjs';
import WebSocket from 'ws';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { WebsocketProvider } from 'y-websocket';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { SyncClient, type SocketLike } from '../../src/lib/sync/client.ts';
import { WorkspaceSync } from '../../src/lib/sync/workspace-sync.ts';
import { memoryStore } from '../../src/lib/local/memory.ts';
import { rowOfDoc } from '../../src/lib/local/index.ts';
import type { LocalStore } from '../../src/lib/local/types.ts';
import { editStream, type Edit } from '../lib/workload.ts';
import { ioBytes } from '../lib/proc.ts';
import { recordContent } from '../lib/soak.ts';

export type Dialect = 'y' | 'hocus' | 'raw-y';
/**
 * How a new client opens a whole workspace: Accord's own SyncClient with every record
 * open at once (`accord-sync`), or the browser's background WorkspaceSync (`accord-workspace`:
 * catch-up from a workspace position, records synced a few at a time into the local store).
 */
export type ColdDialect = Dialect | 'accord-sync' | 'accord-workspace';

export interface ClientSpec {
	key: string;
	record: string;
}

export type WorkerCommand =
	| { cmd: 'connect'; dialect: Dialect; url: string; token?: string; clients: ClientSpec[]; concurrency: number; presence: boolean; timeoutMs: number }
	| { cmd: 'start'; writers: string[] | 'all'; ratePerSecond: number; notesShare: number }
	| { cmd: 'reset' }
	| { cmd: 'mark' }
	| { cmd: 'digest' }
	| { cmd: 'stop' }
	| { cmd: 'close' }
	| { cmd: 'coldOpen'; dialect: ColdDialect; url: string; token?: string; records: string[]; concurrency: number; timeoutMs: number }
	| { cmd: 'warmResync'; dialect: ColdDialect; url: string; token?: string; changed: Record<string, string>; concurrency: number; timeoutMs: number }
	| { cmd: 'change'; dialect: Dialect; url: string; token?: string; changes: Record<string, string>; timeoutMs: number }
	| { cmd: 'fetchList'; url: string; token: string };

export interface Marked {
	latencies: number[];
	sent: number;
	received: number;
	bytesRead: number;
	bytesWritten: number;
	elapsedMs: number;
	errors: number;
	connected: number;
}

/** What a client's copy of its record holds now (the soak compares it with the database). */
export interface ClientDigest {
	key: string;
	record: string;
	/** Y.encodeStateVector, base64: every change the copy has, by Yjs client id and clock. */
	stateVector: string;
	/** The fields (keys sorted) and the notes, as JSON. */
	content: string;
}

// y-websocket's provider adds a process 'exit' listener per provider.
process.setMaxListeners(0);

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

interface Client {
	key: string;
	record: string;
	doc: Y.Doc;
	synced: Promise<boolean>;
	setPresence(state: Record<string, unknown>): void;
	destroy(): void;
	next?: () => Edit;
	seq: number;
	timer?: ReturnType<typeof setInterval>;
}

let clients: Client[] = [];
let recording = false;
let resetAt = 0;
let latencies: number[] = [];
let sent = 0;
let received = 0;
let errors = 0;
let ioAtReset = ioBytes();

function observe(client: Client): void {
	const stamps = client.doc.getMap<[number, number]>('bench');
	stamps.observe((event) => {
		if (event.transaction.local || !recording) return;
		const appliedAt = now();
		for (const key of event.keysChanged) {
			if (key === client.key) continue;
			const stamp = stamps.get(key);
			if (!stamp || stamp[1] < resetAt) continue;
			latencies.push(appliedAt - stamp[1]);
			received++;
		}
	});
}

/** A socket class for the stock providers that counts nothing and changes nothing: ws as is. */
const Socket = WebSocket as unknown as typeof globalThis.WebSocket;

function whenSynced(register: (done: () => void) => void, timeoutMs: number): Promise<boolean> {
	return new Promise((resolve) => {
		const timer = setTimeout(() => resolve(false), timeoutMs);
		register(() => {
			clearTimeout(timer);
			resolve(true);
		});
	});
}

function yClient(spec: ClientSpec, url: string, token: string | undefined, timeoutMs: number, doc = new Y.Doc()): Client {
	const provider = new WebsocketProvider(url, spec.record, doc, {
		WebSocketPolyfill: Socket,
		params: token ? { token } : {},
		disableBc: true
	});
	provider.on('connection-error', () => errors++);
	return {
		key: spec.key,
		record: spec.record,
		doc,
		seq: 0,
		synced: whenSynced((done) => {
			if (provider.synced) return done();
			const onSync = (isSynced: boolean) => {
				if (!isSynced) return;
				provider.off('sync', onSync);
				done();
			};
			provider.on('sync', onSync);
		}, timeoutMs),
		setPresence: (state) => provider.awareness.setLocalState(state),
		destroy: () => provider.destroy()
	};
}

function hocusClient(spec: ClientSpec, url: string, timeoutMs: number, doc = new Y.Doc(), socket?: HocuspocusProviderWebsocket): Client {
	const ownSocket = socket ?? new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket });
	const provider = new HocuspocusProvider({ websocketProvider: ownSocket, name: spec.record, document: doc, token: 'bench' });
	provider.attach();
	return {
		key: spec.key,
		record: spec.record,
		doc,
		seq: 0,
		synced: whenSynced((done) => {
			if (provider.isSynced) return done();
			const onSynced = ({ state }: { state: boolean }) => {
				if (!state) return;
				provider.off('synced', onSynced);
				done();
			};
			provider.on('synced', onSynced);
		}, timeoutMs),
		setPresence: (state) => provider.awareness?.setLocalState(state),
		destroy: () => {
			provider.destroy();
			if (!socket) ownSocket.destroy();
		}
	};
}

/** An idle y-websocket connection without a provider: the sync handshake, then nothing but pongs. */
function rawYClient(spec: ClientSpec, url: string, token: string | undefined, timeoutMs: number): Client {
	const doc = new Y.Doc();
	const socket = new WebSocket(`${url}/${spec.record}${token ? `?token=${encodeURIComponent(token)}` : ''}`);
	socket.binaryType = 'nodebuffer';
	let synced: () => void = () => {};
	const result = whenSynced((done) => (synced = done), timeoutMs);
	socket.on('open', () => {
		const encoder = encoding.createEncoder();
		encoding.writeVarUint(encoder, 0);
		syncProtocol.writeSyncStep1(encoder, doc);
		socket.send(encoding.toUint8Array(encoder));
	});
	socket.on('message', (data: Buffer) => {
		const decoder = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
		if (decoding.readVarUint(decoder) !== 0) return;
		const reply = encoding.createEncoder();
		encoding.writeVarUint(reply, 0);
		const type = syncProtocol.readSyncMessage(decoder, reply, doc, null);
		if (encoding.length(reply) > 1) socket.send(encoding.toUint8Array(reply));
		if (type === syncProtocol.messageYjsSyncStep2) synced();
	});
	socket.on('error', () => errors++);
	return { key: spec.key, record: spec.record, doc, seq: 0, synced: result, setPresence: () => {}, destroy: () => socket.terminate() };
}

async function inBatches<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
	let index = 0;
	await Promise.all(
		Array.from({ length: Math.min(concurrency, items.length) }, async () => {
			while (index < items.length) await run(items[index++]);
		})
	);
}

const COLORS = ['#30bced', '#6eeb83', '#ffbc42', '#ee6352', '#9ac2c9', '#8acb88'];

async function connect(command: Extract<WorkerCommand, { cmd: 'connect' }>): Promise<{ connected: number; failed: number; ms: number }> {
	const started = now();
	let failed = 0;
	await inBatches(command.clients, command.concurrency, async (spec) => {
		const client =
			command.dialect === 'y'
				? yClient(spec, command.url, command.token, command.timeoutMs)
				: command.dialect === 'hocus'
					? hocusClient(spec, command.url, command.timeoutMs)
					: rawYClient(spec, command.url, command.token, command.timeoutMs);
		clients.push(client);
		if (command.dialect !== 'raw-y') observe(client);
		if (command.presence) client.setPresence({ user: { name: spec.key, color: COLORS[clients.length % COLORS.length] }, field: null });
		if (!(await client.synced)) failed++;
	});
	return { connected: command.clients.length - failed, failed, ms: now() - started };
}

const FIELD_SWITCH_EVERY = 10;

function edit(client: Client): void {
	const next = client.next!();
	const seq = ++client.seq;
	client.doc.transact(() => {
		if (next.kind === 'notes') {
			const notes = client.doc.getText('notes');
			notes.insert(notes.length, next.char);
		} else {
			client.doc.getMap('fields').set(next.field, next.value);
		}
		client.doc.getMap('bench').set(client.key, [seq, now()]);
	});
	sent++;
	if (seq % FIELD_SWITCH_EVERY === 0) {
		client.setPresence({ user: { name: client.key, color: COLORS[seq % COLORS.length] }, field: next.kind === 'notes' ? 'notes' : `fields.${next.field}` });
	}
}

function start(command: Extract<WorkerCommand, { cmd: 'start' }>): void {
	const writers = command.writers === 'all' ? null : new Set(command.writers);
	const interval = 1000 / command.ratePerSecond;
	for (const client of clients) {
		if (writers && !writers.has(client.key)) continue;
		client.next = editStream(hash(client.key), command.notesShare);
		// Spread the clients over the interval, so edits arrive evenly rather than in bursts.
		const delay = Math.random() * interval;
		setTimeout(() => {
			if (!client.next) return;
			client.timer = setInterval(() => edit(client), interval);
			edit(client);
		}, delay);
	}
}

function stop(): void {
	for (const client of clients) {
		if (client.timer) clearInterval(client.timer);
		client.timer = undefined;
		client.next = undefined;
	}
}

function hash(text: string): number {
	let h = 2166136261;
	for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
	return h >>> 0;
}

function reset(): void {
	latencies = [];
	sent = 0;
	received = 0;
	errors = 0;
	resetAt = now();
	recording = true;
	ioAtReset = ioBytes();
}

function mark(): Marked {
	const io = ioBytes();
	const result: Marked = {
		latencies,
		sent,
		received,
		errors,
		bytesRead: io.read - ioAtReset.read,
		bytesWritten: io.written - ioAtReset.written,
		elapsedMs: now() - resetAt,
		connected: clients.length
	};
	recording = false;
	latencies = [];
	return result;
}

function digest(): ClientDigest[] {
	return clients.map((client) => ({
		key: client.key,
		record: client.record,
		stateVector: Buffer.from(Y.encodeStateVector(client.doc)).toString('base64'),
		content: recordContent(client.doc)
	}));
}

// ------------------------------------------------------------------ cold open and re-sync

/** What a cold-open client keeps between the cold open and the warm re-sync. */
let library: { dialect: string; docs: Map<string, Y.Doc>; syncClient?: SyncClient; background?: WorkspaceSync; local?: LocalStore } | null = null;

const WORKSPACE = 'demo';

/** Polls `check` every `everyMs` until it holds; false after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<boolean> {
	const deadline = now() + timeoutMs;
	while (now() < deadline) {
		if (await check()) return true;
		await new Promise((resolve) => setTimeout(resolve, everyMs));
	}
	return false;
}

/**
 * The browser's path: WorkspaceSync over a SyncClient with a (memory) local store. Cold:
 * from no position, every record is synced into the local store; done when the position is
 * stored (every record in) and, for the list, when every record has its list row.
 */
async function workspaceCold(command: Extract<WorkerCommand, { cmd: 'coldOpen' }>): Promise<{ ms: number; listMs: number; synced: number; bytesRead: number; bytesWritten: number }> {
	const local = memoryStore();
	const client = new SyncClient({ url: `${command.url}?token=${encodeURIComponent(command.token ?? '')}`, WebSocket: NodeSocket as unknown as new (url: string) => SocketLike, autoConnect: false, local });
	const background = new WorkspaceSync({ client, local, workspace: WORKSPACE, rowOf: rowOfDoc });
	library = { dialect: command.dialect, docs: new Map(), syncClient: client, background, local };
	const io = ioBytes();
	const started = now();
	background.start();
	client.connect();
	await until(async () => (await local.position()) !== null, command.timeoutMs);
	const ms = now() - started;
	await until(async () => (await local.rows()).length >= command.records.length, command.timeoutMs, 20);
	const listMs = now() - started;
	const after = ioBytes();
	let synced = 0;
	for (const id of command.records) if ((await local.load(id)).state) synced++;
	return { ms, listMs, synced, bytesRead: after.read - io.read, bytesWritten: after.written - io.written };
}

/** Warm: reconnect; the catch-up answer names what changed; done when every change is in the local store. */
async function workspaceWarm(command: Extract<WorkerCommand, { cmd: 'warmResync' }>): Promise<{ ms: number; synced: number; changesSeen: number; answered: number; bytesRead: number; bytesWritten: number }> {
	const { syncClient: client, background, local } = library!;
	const previous = background!.lastAnswer;
	const seen = async (): Promise<number> => {
		let count = 0;
		for (const [id, value] of Object.entries(command.changed)) {
			const { state } = await local!.load(id);
			if (!state) continue;
			const doc = new Y.Doc();
			Y.applyUpdate(doc, state);
			if (doc.getMap('fields').get('title') === value) count++;
			doc.destroy();
		}
		return count;
	};
	const io = ioBytes();
	const started = now();
	client!.connect();
	const total = Object.keys(command.changed).length;
	await until(() => background!.lastAnswer !== previous, command.timeoutMs);
	// Checked once the catch-up's syncs are done (then, if need be, a little longer).
	await background!.idle();
	// The time is taken before checking: reading the changes back out of the local store
	// is the benchmark's verification, not part of the re-sync.
	let ms = now() - started;
	const after = ioBytes();
	if ((await seen()) < total) {
		await until(async () => (await seen()) === total, command.timeoutMs, 20);
		ms = now() - started;
	}
	const answered = background!.lastAnswer?.records.length ?? 0;
	return { ms, synced: answered, changesSeen: await seen(), answered, bytesRead: after.read - io.read, bytesWritten: after.written - io.written };
}

/** `ws` as the DOM-like socket Accord's SyncClient expects. */
class NodeSocket extends WebSocket {
	constructor(url: string) {
		super(url);
	}
}

async function coldOpen(command: Extract<WorkerCommand, { cmd: 'coldOpen' }>): Promise<{ ms: number; listMs?: number; synced: number; bytesRead: number; bytesWritten: number }> {
	if (command.dialect === 'accord-workspace') return workspaceCold(command);
	const docs = new Map<string, Y.Doc>();
	// Accord's SyncClient makes its own documents; the others get theirs from us.
	for (const id of command.records) docs.set(id, command.dialect === 'accord-sync' ? (null as unknown as Y.Doc) : new Y.Doc());
	library = { dialect: command.dialect, docs };
	const io = ioBytes();
	const started = now();
	const synced = await syncAll(command.dialect, command.url, command.token, docs, command.concurrency, command.timeoutMs);
	const ms = now() - started;
	const after = ioBytes();
	return { ms, synced, bytesRead: after.read - io.read, bytesWritten: after.written - io.written };
}

/** Syncs every document of the library; returns how many synced. */
async function syncAll(dialect: string, url: string, token: string | undefined, docs: Map<string, Y.Doc>, concurrency: number, timeoutMs: number): Promise<number> {
	let synced = 0;
	const ids = [...docs.keys()];
	if (dialect === 'accord-sync') {
		// Accord's own client, one socket for every document.
		let client = library?.syncClient;
		if (!client) {
			client = new SyncClient({ url: `${url}?token=${encodeURIComponent(token ?? '')}`, WebSocket: NodeSocket as unknown as new (url: string) => SocketLike, autoConnect: false });
			library!.syncClient = client;
			for (const id of ids) {
				const handle = client.open(id);
				docs.set(id, handle.doc);
			}
			client.connect();
		} else {
			client.connect();
		}
		const syncClient = client;
		const done = await whenSynced((finished) => {
			const check = () => {
				if (syncClient.status === 'online') {
					off();
					finished();
				}
			};
			const off = syncClient.onStatus(check);
			check();
		}, timeoutMs);
		return done ? ids.length : 0;
	}
	if (dialect === 'hocus') {
		// One socket, every document multiplexed on it: how Hocuspocus clients open many documents.
		const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket });
		const opened = ids.map((id) => hocusClient({ key: 'cold', record: id }, url, timeoutMs, docs.get(id)!, socket));
		for (const result of await Promise.all(opened.map((c) => c.synced))) if (result) synced++;
		for (const client of opened) client.destroy();
		socket.destroy();
		return synced;
	}
	// y-websocket: one socket per document; `concurrency` of them at a time, each closed once synced.
	await inBatches(ids, concurrency, async (id) => {
		const client = yClient({ key: 'cold', record: id }, url, token, timeoutMs, docs.get(id)!);
		if (await client.synced) synced++;
		client.destroy();
	});
	return synced;
}

async function warmResync(command: Extract<WorkerCommand, { cmd: 'warmResync' }>): Promise<{ ms: number; synced: number; changesSeen: number; answered?: number; bytesRead: number; bytesWritten: number }> {
	if (!library) throw new Error('no cold open to re-sync');
	if (library.dialect === 'accord-workspace') return workspaceWarm(command);
	const { docs } = library;
	const io = ioBytes();
	const started = now();
	const synced = await syncAll(library.dialect, command.url, command.token, docs, command.concurrency, command.timeoutMs);
	// Every change must have arrived.
	let changesSeen = 0;
	for (const [id, value] of Object.entries(command.changed)) if (docs.get(id)?.getMap('fields').get('title') === value) changesSeen++;
	const ms = now() - started;
	const after = ioBytes();
	return { ms, synced, changesSeen, bytesRead: after.read - io.read, bytesWritten: after.written - io.written };
}

function disconnectLibrary(): void {
	library?.syncClient?.disconnect();
}

/** Another person changes a field on each of these records (through /y/ or Hocuspocus). */
async function change(command: Extract<WorkerCommand, { cmd: 'change' }>): Promise<number> {
	let done = 0;
	await inBatches(Object.keys(command.changes), 20, async (record) => {
		const spec = { key: 'changer', record };
		const client = command.dialect === 'hocus' ? hocusClient(spec, command.url, command.timeoutMs) : yClient(spec, command.url, command.token, command.timeoutMs);
		if (await client.synced) {
			client.doc.getMap('fields').set('title', command.changes[record]);
			done++;
			// Give the provider a moment to put the update on the wire before closing.
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		client.destroy();
	});
	return done;
}

async function fetchList(url: string, token: string): Promise<{ ms: number; rows: number; total: number; bytes: number }> {
	const started = now();
	const response = await fetch(`${url}/api/records?limit=50`, { headers: { authorization: `Bearer ${token}` } });
	const text = await response.text();
	const ms = now() - started;
	const body = JSON.parse(text) as { rows: unknown[]; total: number };
	return { ms, rows: body.rows.length, total: body.total, bytes: Buffer.byteLength(text) };
}

process.on('message', (message: { id: number } & WorkerCommand) => {
	void (async () => {
		try {
			let result: unknown = null;
			switch (message.cmd) {
				case 'connect':
					result = await connect(message);
					break;
				case 'start':
					start(message);
					break;
				case 'reset':
					reset();
					break;
				case 'mark':
					result = mark();
					break;
				case 'digest':
					result = digest();
					break;
				case 'stop':
					stop();
					break;
				case 'close':
					stop();
					for (const client of clients) client.destroy();
					clients = [];
					library?.background?.stop();
					library?.syncClient?.destroy();
					library = null;
					break;
				case 'coldOpen':
					result = await coldOpen(message);
					disconnectLibrary();
					break;
				case 'warmResync':
					result = await warmResync(message);
					disconnectLibrary();
					break;
				case 'change':
					result = await change(message);
					break;
				case 'fetchList':
					result = await fetchList(message.url, message.token);
					break;
			}
			process.send?.({ id: message.id, ok: true, result });
		} catch (error) {
			process.send?.({ id: message.id, ok: false, error: (error as Error).stack ?? String(error) });
		}
	})();
});
process.send?.({ ready: true });
