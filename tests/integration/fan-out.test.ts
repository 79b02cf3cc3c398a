/**
 * Fan-out through the pre-framed send path (server/sync/outbox.ts): a message is framed
 * once and the same bytes are written to every watcher, frames of one turn in one write.
 * Every watcher must get every update, whole and in order, whatever the frame's length
 * encoding (7-bit, 16-bit, 64-bit) and however many frames share one write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import { MessageType } from '../../src/lib/protocol/index.ts';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { syncClient, type SyncTestClient } from '../support/sync-client.ts';

const WATCHERS = 200;
const UPDATES = 40;
/** Values whose updates need each length encoding of a WebSocket frame header. */
const SIZES: Record<number, number> = { 7: 1_000, 23: 70_000 };

interface Watcher {
	client: SyncTestClient;
	/** The log's length after each update message, in arrival order. */
	seen: number[];
}

function watch(server: RunningServer, id: string): Watcher {
	const client = syncClient(server, 'editor', { path: `/y/${id}` });
	const watcher: Watcher = { client, seen: [] };
	const log = client.doc(id).getArray('log');
	client.onFrame = (frame) => {
		if (frame.type === MessageType.sync && frame.detail === syncProtocol.messageYjsUpdate) watcher.seen.push(log.length);
	};
	return watcher;
}

describe('fan-out to many watchers', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const clients: SyncTestClient[] = [];

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
	});
	afterAll(async () => {
		for (const client of clients) client.disconnect();
		await server.close();
		data.remove();
	});

	it(`delivers every update, whole and in order, to each of ${WATCHERS} watchers`, async () => {
		const id = await createRecord(server, { name: 'Fan-out' });
		const watchers = Array.from({ length: WATCHERS }, () => watch(server, id));
		clients.push(...watchers.map((w) => w.client));
		await eventually(() => watchers.every((w) => w.client.frames.length > 0), 'every watcher to join', 20_000);

		const writer = syncClient(server, 'editor', { path: `/y/${id}` });
		clients.push(writer);
		await writer.whenSynced();
		const doc = writer.doc(id);
		// All sent at once: the server handles several in one turn and writes them to each watcher together.
		for (let i = 0; i < UPDATES; i++) doc.getArray('log').push([SIZES[i] ? `${i}:${'x'.repeat(SIZES[i])}` : i]);

		await eventually(() => watchers.every((w) => w.seen.length >= UPDATES || w.client.errors.length > 0), 'every watcher to get every update', 30_000);
		const expected = Array.from({ length: UPDATES }, (_, i) => i + 1);
		for (const watcher of watchers) {
			expect(watcher.client.errors).toEqual([]);
			// An update applied after a later one would leave the log short (Yjs holds it back as pending).
			expect(watcher.seen).toEqual(expected);
			expect(watcher.client.doc(id).getArray('log').toJSON()).toEqual(doc.getArray('log').toJSON());
		}
	}, 90_000);
});
