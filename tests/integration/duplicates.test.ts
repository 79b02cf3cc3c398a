/**
 * Duplicates through real HTTP on a real server (PGlite, or Postgres with DATABASE_URL):
 * candidates answered on create, `?duplicates=refuse` creating nothing (409), a private
 * candidate never shown to someone who may not see it, `GET /api/records/:id/duplicates`,
 * the live check of a record as typed, the workspace scan; and the keys of rows stored
 * before duplicates existed, filled in by the backfill on both engines.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/http.ts';
import { backfillDuplicates, createSqlStore } from '../../server/store/sql-store.ts';
import { openPglite, openPostgres } from '../../server/store/sql.ts';
import { projectRecord } from '../../src/lib/model/projection.ts';
import { readRecord, writeNewRecord } from '../../src/lib/model/record.ts';
import type { DuplicateCandidate } from '../../src/lib/model/duplicates.ts';
import type { DuplicateScan } from '../../src/lib/server/services.ts';
import type { Role } from '../../src/lib/access.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { tempDir, tempPostgresUrl } from '../support/databases.ts';

describe('duplicates over HTTP', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	let zhangWei = '';

	const post = (path: string, body: unknown, role: Role = 'editor') =>
		apiFetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, role);
	const get = (path: string, role: Role = 'editor') => apiFetch(`${server.url}${path}`, {}, role);
	const total = async () => ((await (await get('/api/records?limit=1')).json()) as { total: number }).total;

	beforeAll(async () => {
		data = tempDataDir('accord-duplicates-');
		server = await startTestServer({ dataDir: data.dir });
		zhangWei = await createRecord(server, { name: '张伟', company: '华信科技有限公司', email: 'zhang.wei@huaxin.cn', phone: '+86 138 0013 8000' });
	}, 60_000);

	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	it('POST /api/records answers 201 with the candidates and their reasons, and creates the record', async () => {
		const before = await total();
		const response = await post('/api/records', { fields: { name: 'Zhang Wei', company: '华信科技' } });
		expect(response.status).toBe(201);
		const body = (await response.json()) as { id: string; duplicates: DuplicateCandidate[] };
		expect(body.duplicates).toEqual([
			{ id: zhangWei, name: '张伟', company: '华信科技有限公司', confidence: 0.75, reasons: [{ kind: 'name', value: 'zhangwei|huaxinkeji', text: 'similar name and company' }] }
		]);
		expect(await total()).toBe(before + 1);
		// A record that looks like nothing is answered with an empty list.
		const other = await post('/api/records', { fields: { name: 'Ingrid Olsen', company: 'Nordlys AS' } });
		expect(((await other.json()) as { duplicates: unknown[] }).duplicates).toEqual([]);
	});

	it('?duplicates=refuse creates nothing when there are candidates (409 naming them), and creates when there are none', async () => {
		const before = await total();
		const refused = await post('/api/records?duplicates=refuse', { fields: { name: 'Wei Zhang', email: ' ZHANG.WEI@huaxin.cn', phone: '138 0013 8000', country: 'CN' } });
		expect(refused.status).toBe(409);
		const body = (await refused.json()) as { message: string; duplicates: DuplicateCandidate[] };
		expect(body.message).toMatch(/Nothing was created/);
		const first = body.duplicates.find((c) => c.id === zhangWei);
		expect(first?.reasons.map((r) => r.text)).toEqual(['same email zhang.wei@huaxin.cn', 'same phone +8613800138000']);
		expect(first?.confidence).toBeGreaterThan(0.9);
		expect(await total()).toBe(before);

		const fresh = await post('/api/records?duplicates=refuse', { fields: { name: 'Someone New', email: 'new@elsewhere.org' } });
		expect(fresh.status).toBe(201);
		expect(await total()).toBe(before + 1);

		const wrong = await post('/api/records?duplicates=maybe', { fields: { name: 'x' } });
		expect(wrong.status).toBe(400);
		expect(((await wrong.json()) as { message: string }).message).toMatch(/refuse/);
	});

	it('a private candidate is never revealed to someone who may not see it', async () => {
		const secret = await createRecord(server, { name: 'Hidden Person', email: 'hidden@secret.example' }, {}, 'admin');
		expect((await post(`/api/records/${secret}/private`, { private: true }, 'admin')).status).toBe(200);

		// The editor: created, not refused, and nothing said of the private record, by any route.
		const created = await post('/api/records?duplicates=refuse', { fields: { name: 'Hidden Person copy', email: 'hidden@secret.example' } });
		expect(created.status).toBe(201);
		const { id, duplicates } = (await created.json()) as { id: string; duplicates: DuplicateCandidate[] };
		expect(duplicates).toEqual([]);
		expect(((await (await get(`/api/records/${id}/duplicates`)).json()) as { duplicates: DuplicateCandidate[] }).duplicates).toEqual([]);
		const typed = (await (await post('/api/duplicates', { fields: { email: 'hidden@secret.example' } })).json()) as { duplicates: DuplicateCandidate[] };
		expect(typed.duplicates.map((c) => c.id)).toEqual([id]);
		const scan = (await (await get('/api/duplicates')).json()) as DuplicateScan;
		expect(JSON.stringify(scan)).not.toContain(secret);
		expect((await get(`/api/records/${secret}/duplicates`)).status).toBe(404);

		// An admin may see it, so an admin is told.
		const adminView = (await (await get(`/api/records/${id}/duplicates`, 'admin')).json()) as { duplicates: DuplicateCandidate[] };
		expect(adminView.duplicates.map((c) => c.id)).toEqual([secret]);
		const adminScan = (await (await get('/api/duplicates', 'admin')).json()) as DuplicateScan;
		expect(adminScan.clusters.some((c) => c.records.some((r) => r.id === secret))).toBe(true);
	});

	it('GET /api/records/:id/duplicates lists an existing record\'s candidates, not itself; 404 for no such record', async () => {
		const a = await createRecord(server, { name: 'Acme buyer', website: 'www.acme-widgets.com' });
		const b = await createRecord(server, { name: 'Acme seller', website: 'https://sales.acme-widgets.com/contact' });
		const response = await get(`/api/records/${a}/duplicates`);
		expect(response.status).toBe(200);
		const { duplicates } = (await response.json()) as { duplicates: DuplicateCandidate[] };
		expect(duplicates).toEqual([{ id: b, name: 'Acme seller', company: null, confidence: 0.5, reasons: [{ kind: 'domain', value: 'acme-widgets.com', text: 'same website domain acme-widgets.com' }] }]);
		expect((await get(`/api/records/${randomUUID()}/duplicates`)).status).toBe(404);
		expect((await get('/api/records/not-an-id/duplicates')).status).toBe(404);
		// Any spelling of the id is the record.
		expect((await get(`/api/records/${a.toUpperCase()}/duplicates`)).status).toBe(200);
	});

	it('a record edited into a copy of another becomes its candidate (keys follow the projection)', async () => {
		const id = await createRecord(server, { name: 'Later Copy' });
		expect(((await (await get(`/api/records/${id}/duplicates`)).json()) as { duplicates: unknown[] }).duplicates).toEqual([]);
		const patched = await apiFetch(`${server.url}/api/records/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fields: { phone: '+8613800138000' } }) });
		expect(patched.status).toBe(200);
		// The list row (and its keys) is written by the projection once the change is stored.
		await eventually(async () => {
			const { duplicates } = (await (await get(`/api/records/${id}/duplicates`)).json()) as { duplicates: DuplicateCandidate[] };
			return duplicates.some((c) => c.id === zhangWei && c.reasons.some((r) => r.kind === 'phone'));
		}, 'the patched record to list 张伟 as a candidate');
	});

	it('POST /api/duplicates checks a record as typed, before it is valid; bad bodies are 400', async () => {
		const response = await post('/api/duplicates', { fields: { name: 'ＺＨＡＮＧ　ＷＥＩ', company: '华信科技股份有限公司', email: 'not yet an emai' } });
		expect(response.status).toBe(200);
		const { duplicates } = (await response.json()) as { duplicates: DuplicateCandidate[] };
		expect(duplicates.map((c) => c.id)).toContain(zhangWei);
		for (const body of [[], { fields: 'x' }, { fields: null }, 'text']) expect((await post('/api/duplicates', body)).status).toBe(400);
		// Values that are not text, or very long, are simply not matched.
		const odd = await post('/api/duplicates', { fields: { name: { nested: true }, company: 'x'.repeat(100_000) } });
		expect(odd.status).toBe(200);
	});

	it('GET /api/duplicates scans the workspace into clusters, most likely first', async () => {
		const response = await get('/api/duplicates');
		expect(response.status).toBe(200);
		const scan = (await response.json()) as DuplicateScan;
		expect(scan.scanned).toBe(await total());
		const zhang = scan.clusters.find((c) => c.records.some((r) => r.id === zhangWei));
		expect(zhang?.records.map((r) => r.name).sort()).toEqual(['Later Copy', 'Zhang Wei', '张伟']);
		// Zhang Wei by name and company, Later Copy by phone.
		expect(zhang?.reasons).toEqual(['name', 'phone']);
		const confidences = scan.clusters.map((c) => c.confidence);
		expect(confidences).toEqual([...confidences].sort((x, y) => y - x));
		expect(scan.total).toBe(scan.clusters.length);
		// Viewers may look too (only editors and admins are linked to the page).
		expect((await get('/api/duplicates', 'viewer')).status).toBe(200);
	});
});

describe('duplicate keys of rows stored before duplicates', () => {
	it('are filled in at start (the backfill), on PGlite and on Postgres', async () => {
		const dir = await tempDir('accord-duplicates-backfill-');
		const postgres = await tempPostgresUrl();
		try {
			const engines = [() => openPglite(join(dir.path, 'pglite')), ...(postgres ? [() => openPostgres(postgres.url)] : [])];
			for (const open of engines) {
				const sql = await open();
				const store = createSqlStore(sql);
				try {
					await store.migrate();
					const ids = [randomUUID(), randomUUID()];
					for (const [i, id] of ids.entries()) {
						const doc = new Y.Doc();
						writeNewRecord(doc, { fields: { name: i === 0 ? '李娜' : 'Li Na', company: i === 0 ? '华信有限公司' : 'Huaxin Ltd.' }, workspace: 'ws', createdBy: 'alice' });
						// A row as an older version wrote it: a copy has no source record, so no keys.
						await store.createDocument(id, 'ws', Y.encodeStateAsUpdate(doc), { ...projectRecord(readRecord(doc, id), new Date().toISOString()) });
					}
					const viewer = { id: 'alice', admin: true };
					// The start's own backfill may already be at work on them; whatever it left, this one keys.
					await backfillDuplicates(sql);
					const found = await store.duplicateCandidates('ws', ['name:lina|huaxin'], { viewer, limit: 10 });
					expect(found.map((row) => row.id).sort()).toEqual([...ids].sort());
					expect(await backfillDuplicates(sql)).toBe(0);
					const scan = await store.duplicateGroups('ws', viewer, 50);
					expect(scan.groups.map((group) => group.map((row) => row.id).sort())).toContainEqual([...ids].sort());
				} finally {
					await store.close();
				}
			}
		} finally {
			await postgres?.drop();
			await dir.remove();
		}
		// Two engines migrated from empty (PGlite as WASM): slow on a loaded machine.
	}, 240_000);
});
