/**
 * A record's list row (search tokens, duplicate keys, list columns) is re-made from its
 * document after changes, at most about once a second while someone keeps typing: under
 * steady editing, re-making it after every short pause was the largest cost of an update
 * (see PROJECTION_MIN_INTERVAL_MS in server/sync/steps/project.ts). The row must still end equal
 * to the record once the typing stops, and the first change after a quiet spell must
 * still reach the row quickly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { RunningServer } from '../../server/http.ts';
import type { RecordRow } from '../../src/lib/model/projection.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { syncClient, type SyncTestClient } from '../support/sync-client.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A peer of the record on /y: what its document changes is sent as it changes. */
async function editorOf(server: RunningServer, id: string): Promise<{ peer: SyncTestClient; doc: Y.Doc }> {
	const peer = syncClient(server, 'editor', { path: `/y/${id}` });
	await peer.whenSynced();
	return { peer, doc: peer.doc(id) };
}

describe('the pace of list-row refreshes', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	/** Rows written through the live path's projection refresh, per record id, with when. */
	const writes = new Map<string, number[]>();

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
		// Counted where the rooms hand the row to the store: the real store writes it as before.
		const store = server.accord.database.documents;
		const write = store.upsertProjection.bind(store);
		store.upsertProjection = (row: RecordRow) => {
			const list = writes.get(row.id) ?? [];
			list.push(Date.now());
			writes.set(row.id, list);
			return write(row);
		};
	});
	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	it('re-makes a row being edited ten times a second at most about once a second, and ends equal to the record', async () => {
		const id = await createRecord(server, { name: 'Paced' });
		const { peer, doc } = await editorOf(server, id);

		const started = Date.now();
		for (let i = 1; i <= 30; i++) {
			doc.getMap('fields').set('city', `City ${i}`);
			await sleep(100);
		}
		const typed = Date.now() - started;

		const row = async () => (await (await apiFetch(`${server.url}/api/records?q=${encodeURIComponent('city:30')}`)).json()) as { rows: { id: string }[] };
		await eventually(async () => (await row()).rows.some((r) => r.id === id), 'the row to reach the last value', 10_000);
		peer.disconnect();

		const during = (writes.get(id) ?? []).filter((at) => at <= started + typed);
		// Every 150 ms pause used to re-make it: about 15 times in these 3 seconds.
		expect(during.length).toBeGreaterThan(0);
		expect(during.length).toBeLessThanOrEqual(Math.ceil(typed / 1_000) + 1);
	}, 30_000);

	it('re-makes the row of a record quiet for a while soon after its next change', async () => {
		const id = await createRecord(server, { name: 'Quiet' });
		await sleep(1_200);
		const before = (writes.get(id) ?? []).length;
		const { peer, doc } = await editorOf(server, id);
		doc.getMap('fields').set('city', 'Hangzhou');
		await eventually(() => (writes.get(id) ?? []).length > before, 'the row to be re-made', 5_000);
		peer.disconnect();
	}, 30_000);
});
