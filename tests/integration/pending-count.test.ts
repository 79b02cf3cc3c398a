/**
 * "Offline · 4 changes not yet on the server" after four edits, not one per keystroke:
 * the browser's sync client counts pending changes as a person made them (one per place
 * changed), and they all reach the server once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { addItem, contactsOf, fieldsOf, notesOf, tagsOf } from '../../src/lib/model/record.ts';
import { SyncClient, type SocketLike } from '../../src/lib/sync/client.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir, wsUrl } from '../support/server.ts';

describe('pending changes, counted as a person made them', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
	});
	afterAll(async () => {
		await server.close();
		data.remove();
	});

	it('counts four edits made keystroke by keystroke as four, and sends them all', async () => {
		const id = await createRecord(server, { name: 'Pending Co' });
		const client = new SyncClient({ url: wsUrl(server, '/sync', 'editor'), WebSocket: WebSocket as unknown as new (url: string) => SocketLike, autoConnect: false });
		try {
			const handle = client.open(id);
			const { doc } = handle;
			// Typed one character at a time, as an input writes them.
			for (let i = 1; i <= 'Harbour Logistics'.length; i++) fieldsOf(doc).set('company', 'Harbour Logistics'.slice(0, i));
			for (const char of 'Call back on Monday') notesOf(doc).insert(notesOf(doc).length, char);
			tagsOf(doc).set('vip', true);
			const contact = addItem(contactsOf(doc), { name: 'Li Lei' });
			expect(contact).toBeTruthy();
			expect(handle.pending).toBe(4);

			client.connect();
			await eventually(() => handle.pending === 0, 'every change to be saved');
			const stored = (await (await apiFetch(`${server.url}/api/records/${id}`)).json()) as { fields: Record<string, unknown>; notes: string; tags: string[]; contacts: Array<{ name: string }> };
			expect(stored).toMatchObject({ fields: { company: 'Harbour Logistics' }, notes: 'Call back on Monday', tags: ['vip'] });
			expect(stored.contacts.map((c) => c.name)).toEqual(['Li Lei']);
		} finally {
			client.destroy();
		}
	});
});
