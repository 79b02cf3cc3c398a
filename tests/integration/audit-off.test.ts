/**
 * ACCORD_AUDIT=0: changes are stored and relayed as always, and nothing is written to
 * the audit log (the switch the benchmark uses to measure what auditing costs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditPage } from '../../src/lib/model/audit.ts';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { readConfig } from '../../server/config.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { providersSynced, yWebsocketClient } from '../support/sync-client.ts';

let server: RunningServer;
let data: { dir: string; remove(): void };

beforeAll(async () => {
	data = tempDataDir();
	server = await startTestServer({ dataDir: data.dir, audit: false });
});
afterAll(async () => {
	await server?.close();
	data?.remove();
});

async function historyOf(id: string): Promise<AuditPage> {
	const response = await apiFetch(`${server.url}/api/records/${id}/history`, {}, 'admin');
	expect(response.status).toBe(200);
	return (await response.json()) as AuditPage;
}

describe('with the audit log off', () => {
	it('reads ACCORD_AUDIT as 1 or 0 and refuses anything else', () => {
		expect(readConfig({}).audit).toBe(true);
		expect(readConfig({ ACCORD_AUDIT: '0' }).audit).toBe(false);
		expect(() => readConfig({ ACCORD_AUDIT: 'off' })).toThrow(/ACCORD_AUDIT must be 1 \(on\) or 0 \(off\), not "off"/);
	});

	it('stores and relays edits, and records no entries for creation, edits or the private flag', async () => {
		const id = await createRecord(server, { name: 'Unaudited Ltd', company: 'Old Co' });
		const clients = [yWebsocketClient(server, 'editor', id), yWebsocketClient(server, 'editor', id)];
		const docs = clients.map((c) => c.doc);
		const providers = clients.map((c) => c.provider);
		try {
			await providersSynced(...providers);
			fieldsOf(docs[0]).set('company', 'New Co');
			await eventually(() => fieldsOf(docs[1]).get('company') === 'New Co', 'the edit to reach the other client');

			const stored = async () => ((await (await apiFetch(`${server.url}/api/records/${id}`)).json()) as { fields: Record<string, unknown> }).fields;
			await eventually(async () => (await stored()).company === 'New Co', 'the edit to be stored');
			const made = await apiFetch(`${server.url}/api/records/${id}/private`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ private: true })
			}, 'admin');
			expect(made.status, await made.clone().text()).toBe(200);
		} finally {
			for (const p of providers) p.destroy();
		}
		// Entries are sealed within seconds when they exist; there must be none, staged or sealed.
		await server.accord.database.audit.seal({ all: true });
		expect((await historyOf(id)).entries).toEqual([]);
	});
});
