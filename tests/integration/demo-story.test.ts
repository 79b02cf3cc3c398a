/**
 * The demo tells one story: a seeded record's history says it was created when the
 * record itself says it was (not "4 minutes ago" under a record "created 2 Dec").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/http.ts';
import type { AuditPage } from '../../src/lib/model/audit.ts';
import { apiFetch, startTestServer, tempDataDir } from '../support/server.ts';

describe('the demo workspace', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir, seedDemo: true, demoRecordCount: 5 });
	});
	afterAll(async () => {
		await server.close();
		data.remove();
	});

	it("dates each record's creation in its history as the record does", async () => {
		const list = (await (await apiFetch(`${server.url}/api/records?limit=5`)).json()) as { rows: Array<{ id: string }> };
		expect(list.rows.length).toBe(5);
		for (const { id } of list.rows) {
			const record = (await (await apiFetch(`${server.url}/api/records/${id}`)).json()) as { meta: { createdAt: string; createdBy: string } };
			const history = (await (await apiFetch(`${server.url}/api/records/${id}/history?limit=50`)).json()) as AuditPage;
			const created = history.entries.find((entry) => entry.op === 'create');
			expect(created, id).toBeDefined();
			expect(Date.parse(created!.at)).toBe(Date.parse(record.meta.createdAt));
			expect(created!.actor.id).toBe(record.meta.createdBy);
		}
	});
});
