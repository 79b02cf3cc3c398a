/**
 * The audit log as people read it, on a real server: a record's history holds no
 * entries where nothing changed (a value set to what it already was, a run of edits
 * that ends where it began, archiving undone within the folding window), and the
 * admin's CSV export opens in a spreadsheet with Chinese intact (UTF-8 BOM) and each
 * value as it is, not JSON inside CSV. Edits come from the stock y-websocket client
 * and the HTTP API, as they do in use.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { AuditEntry, AuditPage } from '../../src/lib/model/audit.ts';
import { contactsOf, fieldsOf } from '../../src/lib/model/record.ts';
import type { Scalar } from '../../src/lib/model/schema.ts';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir, tokenFor } from '../support/server.ts';
import { providersSynced, yWebsocketClient } from '../support/sync-client.ts';

const providers: WebsocketProvider[] = [];
afterEach(() => {
	for (const provider of providers.splice(0)) provider.destroy();
});

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

function api(path: string, init: RequestInit = {}, role: 'editor' | 'admin' = 'editor'): Promise<Response> {
	const headers = new Headers(init.headers);
	headers.set('authorization', `Bearer ${tokenFor(server, role)}`);
	if (init.body) headers.set('content-type', 'application/json');
	return fetch(`${server.url}${path}`, { ...init, headers });
}

async function history(id: string): Promise<AuditEntry[]> {
	const response = await api(`/api/records/${id}/history?limit=500`);
	expect(response.status).toBe(200);
	return ((await response.json()) as AuditPage).entries;
}

async function connect(id: string): Promise<Y.Doc> {
	const { doc, provider } = yWebsocketClient(server, 'editor', id, { maxBackoffTime: 300 });
	providers.push(provider);
	await providersSynced(provider);
	return doc;
}

/** Waits until the record's history has an entry at `path` with this `after`: everything the client sent before it is staged by then. */
async function staged(id: string, path: string, after: unknown): Promise<void> {
	await eventually(async () => (await history(id)).some((entry) => entry.path === path && JSON.stringify(entry.after) === JSON.stringify(after)), `an entry at ${path}`);
}

const at = (entries: readonly AuditEntry[], path: string) => entries.filter((entry) => entry.path === path);

describe('a record history has no entries where nothing changed', () => {
	it('a field set to the value it already has leaves no entry', async () => {
		const id = await createRecord(server, { name: 'Same Co', country: 'CN', email: 'a@same.example' });
		const doc = await connect(id);
		fieldsOf(doc).set('country', 'CN');
		fieldsOf(doc).set('email', 'a@same.example');
		fieldsOf(doc).set('city', 'Shanghai');
		await staged(id, 'fields.city', 'Shanghai');
		const entries = await history(id);
		expect(at(entries, 'fields.country')).toEqual([]);
		expect(at(entries, 'fields.email')).toEqual([]);
	});

	it('edits that end where they began within the folding window leave no entry, one at a time or all at once', async () => {
		const id = await createRecord(server, { name: 'Back Co', country: 'CN', email: 'a@back.example', stage: 'lead' });
		const doc = await connect(id);

		// One at a time: each change is staged before the next arrives.
		fieldsOf(doc).set('email', 'b@back.example');
		await staged(id, 'fields.email', 'b@back.example');
		fieldsOf(doc).set('email', 'a@back.example');
		fieldsOf(doc).set('city', 'marker 1');
		await staged(id, 'fields.city', 'marker 1');
		expect(at(await history(id), 'fields.email')).toEqual([]);

		// CN → US → JP → CN, quickly: "Country CN → CN (3 edits)" before.
		fieldsOf(doc).set('country', 'US');
		fieldsOf(doc).set('country', 'JP');
		fieldsOf(doc).set('country', 'CN');
		fieldsOf(doc).set('city', 'marker 2');
		await staged(id, 'fields.city', 'marker 2');
		expect(at(await history(id), 'fields.country')).toEqual([]);

		// Unset, then set back to what it was.
		fieldsOf(doc).delete('stage');
		await eventually(async () => at(await history(id), 'fields.stage').length === 1, 'the unset to be staged');
		fieldsOf(doc).set('stage', 'lead');
		fieldsOf(doc).set('city', 'marker 3');
		await staged(id, 'fields.city', 'marker 3');
		expect(at(await history(id), 'fields.stage')).toEqual([]);

		// A run that goes on after returning still says where it began and where it ended.
		fieldsOf(doc).set('email', 'b@back.example');
		await staged(id, 'fields.email', 'b@back.example');
		fieldsOf(doc).set('email', 'a@back.example');
		fieldsOf(doc).set('email', 'c@back.example');
		await staged(id, 'fields.email', 'c@back.example');
		const email = at(await history(id), 'fields.email');
		expect(email).toHaveLength(1);
		expect(email[0]).toMatchObject({ op: 'set', before: 'a@back.example', after: 'c@back.example' });
	});

	it('archiving and restoring within the window leaves no "false → false" entry', async () => {
		const id = await createRecord(server, { name: 'Archive Co' });
		for (const archived of [true, false]) {
			const response = await api(`/api/records/${id}/archive`, { method: 'POST', body: JSON.stringify({ archived }) });
			expect(response.status).toBe(200);
		}
		// Restoring a record that is not archived changes nothing either.
		expect((await api(`/api/records/${id}/archive`, { method: 'POST', body: JSON.stringify({ archived: false }) })).status).toBe(200);
		const archived = at(await history(id), 'meta.archived');
		expect(archived.filter((entry) => JSON.stringify(entry.before) === JSON.stringify(entry.after))).toEqual([]);
		expect(archived).toEqual([]);
	});
});

/** RFC 4180 rows: quoted cells may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
	const rows: string[][] = [];
	let row: string[] = [];
	let cell = '';
	let quoted = false;
	for (let i = 0; i < text.length; i++) {
		const ch = text[i];
		if (quoted) {
			if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
			else if (ch === '"') quoted = false;
			else cell += ch;
		} else if (ch === '"') quoted = true;
		else if (ch === ',') row.push(cell), (cell = '');
		else if (ch === '\r' && text[i + 1] === '\n') {
			row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
		} else cell += ch;
	}
	if (cell !== '' || row.length > 0) row.push(cell), rows.push(row);
	return rows;
}

describe('the audit CSV export', () => {
	it('starts with a UTF-8 BOM and carries values as they are, Chinese intact', async () => {
		const id = await createRecord(server, { name: '王芳', company: '上海贸易有限公司', value: 1200 });
		const doc = await connect(id);
		fieldsOf(doc).set('title', '采购总监');
		fieldsOf(doc).set('value', 3400);
		const contact = new Y.Map<Scalar>();
		contact.set('id', 'c-li');
		contact.set('name', '李伟');
		contact.set('email', 'li@example.cn');
		contactsOf(doc).push([contact]);
		await staged(id, 'fields.title', '采购总监');
		await staged(id, 'fields.value', 3400);
		await eventually(async () => at(await history(id), 'contacts[c-li]').length === 1, 'the contact entry');
		expect((await api(`/api/records/${id}/archive`, { method: 'POST', body: JSON.stringify({ archived: true }) })).status).toBe(200);

		const response = await api(`/api/audit?record=${id}&format=csv`, {}, 'admin');
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
		const bytes = new Uint8Array(await response.arrayBuffer());
		expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes).slice(1);
		expect(text).not.toContain('"""');

		const [header, ...rows] = parseCsv(text);
		expect(header).toEqual(['id', 'seq', 'at', 'first_at', 'changes', 'record_id', 'actor_id', 'actor_name', 'source', 'relayed_by', 'path', 'op', 'before', 'after', 'conflict', 'hash']);
		const row = (path: string) => {
			const found = rows.find((cells) => cells[header.indexOf('path')] === path);
			expect(found, `a row at ${path}`).toBeDefined();
			return { before: found![header.indexOf('before')], after: found![header.indexOf('after')] };
		};
		expect(row('fields.title')).toEqual({ before: '', after: '采购总监' });
		expect(row('fields.value')).toEqual({ before: '1200', after: '3400' });
		expect(row('meta.archived')).toEqual({ before: 'false', after: 'true' });
		const added = row('contacts[c-li]').after;
		expect(added).toContain('李伟');
		expect(added).toContain('li@example.cn');
		expect(added).not.toMatch(/\\u|\\"/);
		const created = row('record').after;
		expect(created).toContain('王芳');
		expect(created).toContain('上海贸易有限公司');
	});
});
