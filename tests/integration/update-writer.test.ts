/**
 * The group-commit writer's timing, on a real (PGlite) store: updates wait up to the
 * commit window for company, but what arrives while a commit is under way has waited
 * long enough and goes out as soon as that commit ends.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createLogger } from '../../server/log.ts';
import { openStore } from '../../server/database.ts';
import type { AppendedUpdate, DocumentStore } from '../../server/store/types.ts';
import { UpdateWriter } from '../../server/sync/update-writer.ts';
import { bareRow, tempDir, type TempDir } from '../support/databases.ts';

/** Longer than any test may wait: a commit that waited out this window would time the test out. */
const WINDOW_MS = 120_000;
/** The writer's batch limit: a full batch does not wait for the window. */
const FULL_BATCH = 500;

function edits(count: number): Uint8Array[] {
	const doc = new Y.Doc();
	const updates: Uint8Array[] = [];
	doc.on('update', (update: Uint8Array) => updates.push(update));
	for (let i = 0; i < count; i++) doc.getMap('fields').set('title', `title ${i}`);
	return updates;
}

describe('the group-commit writer', () => {
	let dir: TempDir;
	let store: DocumentStore;

	beforeAll(async () => {
		dir = await tempDir('accord-writer-');
		store = await openStore({ dataDir: dir.path });
	});
	afterAll(async () => {
		await store?.close();
		await dir?.remove();
	});

	it('writes what arrived during a commit right after it, without waiting for another window', async () => {
		const id = randomUUID();
		await store.createDocument(id, 'ws', Y.encodeStateAsUpdate(new Y.Doc()), bareRow(id));
		// The first commit is held until the second update has arrived.
		let release!: () => void;
		const held = new Promise<void>((resolve) => (release = resolve));
		const batches: number[] = [];
		const gated: DocumentStore = {
			...store,
			async appendUpdates(batch: readonly AppendedUpdate[]) {
				batches.push(batch.length);
				if (batches.length === 1) await held;
				return store.appendUpdates(batch);
			}
		};
		const writer = new UpdateWriter(gated, WINDOW_MS, createLogger('silent'));
		const [late, ...first] = edits(FULL_BATCH + 1).reverse();
		const firstStored = first.reverse().map((update) => writer.enqueue(id, update));
		await expect.poll(() => batches.length).toBe(1);
		const lateStored = writer.enqueue(id, late);
		release();
		await Promise.all(firstStored);
		expect(await lateStored).toBe(FULL_BATCH + 2);
		expect(batches).toEqual([FULL_BATCH, 1]);
		expect(await store.pendingUpdateCount(id)).toBe(FULL_BATCH + 2);
		await writer.close();
	});
});
