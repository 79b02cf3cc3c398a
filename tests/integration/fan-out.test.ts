/**
 * Fan-out through the pre-framed send path (server/sync/outbox.ts): a message is framed
 * once and the same bytes are written to every watcher, frames of one turn in one write.
 * Every watcher must get every update, whole and in order, whatever the frame's length
 * encoding (7-bit, 16-bit, 64-bit) and however many frames share one write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import WebSocket from 'ws';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir, wsUrl } from '../support/server.ts';

const WATCHERS = 200;
const UPDATES = 40;
/** Values whose updates need each length encoding of a WebSocket frame header. */
const SIZES: Record<number, number> = { 7: 1_000, 23: 70_000 };

interface Watcher {
	socket: WebSocket;
	doc: Y.Doc;
	joined: boolean;
	/** The log's length after each update message, in arrival order. */
	seen: number[];
	errors: string[];
}

function watch(url: string): Watcher {
	const socket = new WebSocket(url);
	const watcher: Watcher = { socket, doc: new Y.Doc(), joined: false, seen: [], errors: [] };
	socket.binaryType = 'nodebuffer';
	socket.on('message', (data: Buffer) => {
		watcher.joined = true;
		const decoder = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
		if (decoding.readVarUint(decoder) !== 0) return;
		if (decoding.readVarUint(decoder) !== syncProtocol.messageYjsUpdate) return;
		try {
			Y.applyUpdate(watcher.doc, decoding.readVarUint8Array(decoder));
			watcher.seen.push(watcher.doc.getArray('log').length);
		} catch (error) {
			watcher.errors.push((error as Error).message);
		}
	});
	return watcher;
}

function updateMessage(update: Uint8Array): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, 0);
	syncProtocol.writeUpdate(encoder, update);
	return encoding.toUint8Array(encoder);
}

describe('fan-out to many watchers', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const sockets: WebSocket[] = [];

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
	});
	afterAll(async () => {
		for (const socket of sockets) socket.terminate();
		await server.close();
		data.remove();
	});

	it(`delivers every update, whole and in order, to each of ${WATCHERS} watchers`, async () => {
		const id = await createRecord(server, { name: 'Fan-out' });
		const url = wsUrl(server, `/y/${id}`);
		const watchers = Array.from({ length: WATCHERS }, () => watch(url));
		sockets.push(...watchers.map((w) => w.socket));
		await eventually(() => watchers.every((w) => w.joined), 'every watcher to join', 20_000);

		const writer = new WebSocket(url);
		sockets.push(writer);
		await new Promise((resolve) => writer.once('open', resolve));
		const doc = new Y.Doc();
		doc.on('update', (update: Uint8Array) => writer.send(updateMessage(update)));
		// All sent at once: the server handles several in one turn and writes them to each watcher together.
		for (let i = 0; i < UPDATES; i++) doc.getArray('log').push([SIZES[i] ? `${i}:${'x'.repeat(SIZES[i])}` : i]);

		await eventually(() => watchers.every((w) => w.seen.length >= UPDATES || w.errors.length > 0), 'every watcher to get every update', 30_000);
		const expected = Array.from({ length: UPDATES }, (_, i) => i + 1);
		for (const watcher of watchers) {
			expect(watcher.errors).toEqual([]);
			// An update applied after a later one would leave the log short (Yjs holds it back as pending).
			expect(watcher.seen).toEqual(expected);
			expect(watcher.doc.getArray('log').toJSON()).toEqual(doc.getArray('log').toJSON());
		}
	}, 90_000);
});
