/**
 * The audit log on a real server (PGlite, or Postgres and Redis when DATABASE_URL and
 * REDIS_URL are set): entries from stock y-websocket clients and from the API, relayed
 * edits keep their author, forged client ids are refused, concurrent offline edits of
 * one field give exactly one conflict, history and admin API, restore.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import * as syncProtocol from 'y-protocols/sync';
import type { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import type { AuditEntry, AuditPage } from '../../src/lib/model/audit.ts';
import { fieldsOf, notesOf, tagsOf } from '../../src/lib/model/record.ts';
import { MessageType, encodeFrame } from '../../src/lib/protocol/index.ts';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir, tokenFor } from '../support/server.ts';
import { providersSynced, syncClient, yWebsocketClient, type YWebsocketClient } from '../support/sync-client.ts';

interface Person {
	id: string;
	name: string;
	token: string;
}

const providers: WebsocketProvider[] = [];
afterEach(() => {
	for (const provider of providers.splice(0)) provider.destroy();
	vi.restoreAllMocks();
});

let server: RunningServer;
let data: { dir: string; remove(): void };
let alice: Person;
let bob: Person;

async function person(name: string, role: 'editor' | 'admin' | 'viewer' = 'editor'): Promise<Person> {
	const { id, token } = await server.accord.database.auth.createApiToken({ workspace: server.accord.services.defaultWorkspace, name, role, createdBy: 'test' });
	return { id: `token:${id}`, name, token };
}

function api(path: string, who: Person | string, init: RequestInit = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	headers.set('authorization', `Bearer ${typeof who === 'string' ? who : who.token}`);
	if (init.body) headers.set('content-type', 'application/json');
	return fetch(`${server.url}${path}`, { ...init, headers });
}

async function history(id: string, query = '', who: Person | string = alice): Promise<AuditEntry[]> {
	const response = await api(`/api/records/${id}/history${query ? `?${query}` : ''}`, who);
	expect(response.status).toBe(200);
	return ((await response.json()) as AuditPage).entries;
}

function connect(id: string, who: Person, doc = new Y.Doc()): YWebsocketClient {
	const made = yWebsocketClient(server, who, id, { doc, maxBackoffTime: 300 });
	providers.push(made.provider);
	return made;
}

async function entryAt(id: string, path: string, match: (entry: AuditEntry) => boolean = () => true, who: Person | string = alice): Promise<AuditEntry> {
	let found: AuditEntry | undefined;
	await eventually(async () => {
		found = (await history(id, `field=${encodeURIComponent(path)}`, who)).find(match);
		return found !== undefined;
	}, `an entry at ${path}`);
	return found!;
}

const stored = async (id: string) => ((await (await api(`/api/records/${id}`, alice)).json()) as { fields: Record<string, unknown> }).fields;

/**
 * Alice and Bob change one field of a record at once: both offline, each sets a value,
 * Alice's reaches the server first, then Bob's. Resolves once both agree and the server
 * has recorded the conflict; which value won is Yjs's to say.
 */
async function crossedEdits(id: string, field: string, fromAlice: string, fromBob: string): Promise<{ a: YWebsocketClient; b: YWebsocketClient; winner: unknown; loser: string }> {
	const a = connect(id, alice);
	const b = connect(id, bob);
	await Promise.all([providersSynced(a.provider), providersSynced(b.provider)]);
	a.provider.disconnect();
	b.provider.disconnect();
	fieldsOf(a.doc).set(field, fromAlice);
	fieldsOf(b.doc).set(field, fromBob);
	a.provider.connect();
	await eventually(async () => (await stored(id))[field] === fromAlice, "Alice's value on the server");
	b.provider.connect();
	await eventually(() => fieldsOf(a.doc).get(field) === fieldsOf(b.doc).get(field) && b.provider.synced, 'both to converge');
	const winner = fieldsOf(a.doc).get(field);
	await eventually(async () => (await stored(id))[field] === winner, 'the server to agree');
	await eventually(async () => (await history(id, 'op=conflict')).length > 0, 'a conflict entry');
	return { a, b, winner, loser: winner === fromAlice ? fromBob : fromAlice };
}

beforeAll(async () => {
	data = tempDataDir();
	server = await startTestServer({ dataDir: data.dir });
	alice = await person('Alice (editor)');
	bob = await person('Bob (editor)');
});
afterAll(async () => {
	await server.close();
	data.remove();
});

describe('audit entries', () => {
	it('record who changed which field from what to what through the stock y-websocket client', async () => {
		const id = await createRecord(server, { name: 'Acme', company: 'Old Co' });
		const created = (await history(id, 'field=record'))[0];
		expect(created).toMatchObject({ op: 'create', path: 'record', source: 'api', before: null });
		expect((created.after as { fields: Record<string, unknown> }).fields).toEqual({ name: 'Acme', company: 'Old Co' });

		const a = connect(id, alice);
		await providersSynced(a.provider);
		fieldsOf(a.doc).set('company', 'New Co');
		tagsOf(a.doc).set('vip', true);
		const company = await entryAt(id, 'company');
		expect(company).toMatchObject({
			recordId: id,
			workspace: server.accord.services.defaultWorkspace,
			path: 'fields.company',
			op: 'set',
			before: 'Old Co',
			after: 'New Co',
			actor: { id: alice.id, name: alice.name },
			source: 'api',
			relayedBy: null,
			conflict: null,
			changes: 1
		});
		expect(Date.parse(company.at)).toBeGreaterThan(Date.now() - 60_000);
		expect(await entryAt(id, 'tags')).toMatchObject({ op: 'add', after: 'vip', actor: { id: alice.id } });

		// More typing in the same field within the window: one entry, first before, last after.
		fieldsOf(a.doc).set('company', 'New Co Ltd');
		fieldsOf(a.doc).set('company', 'New Co Limited');
		await eventually(async () => (await history(id, 'field=company'))[0]?.changes === 3, 'the changes to coalesce');
		const entries = await history(id, 'field=company');
		expect(entries).toHaveLength(1);
		expect(entries[0]).toMatchObject({ before: 'Old Co', after: 'New Co Limited', changes: 3 });

		// Notes typed key by key: one summary, not one entry per keystroke.
		for (const ch of 'Met at the fair.') notesOf(a.doc).insert(notesOf(a.doc).length, ch);
		notesOf(a.doc).delete(0, 4);
		await eventually(async () => (await history(id, 'field=notes'))[0]?.changes === 17, 'the notes keystrokes to coalesce');
		const notes = await history(id, 'field=notes');
		expect(notes).toHaveLength(1);
		expect(notes[0]).toMatchObject({ op: 'edit', actor: { id: alice.id }, after: { inserted: 16, deleted: 4, excerpt: 'Met at the fair.', removed: 'Met ' } });

		// Someone else changes it: a separate entry, newest first.
		const b = connect(id, bob);
		await providersSynced(b.provider);
		fieldsOf(b.doc).delete('company');
		await eventually(async () => (await history(id, 'field=company')).length === 2, "Bob's entry");
		const [latest] = await history(id, 'field=company');
		expect(latest).toMatchObject({ op: 'unset', before: 'New Co Limited', after: null, actor: { id: bob.id, name: bob.name } });
		expect((await history(id, `person=${encodeURIComponent(bob.id)}`)).every((e) => e.actor.id === bob.id)).toBe(true);
	});

	it('record changes made through the API: archive and privacy', async () => {
		const admin = await person('Admin (integration)', 'admin');
		const id = await createRecord(server, { name: 'Archive me' });
		expect((await api(`/api/records/${id}/archive`, alice, { method: 'POST', body: JSON.stringify({ archived: true }) })).status).toBe(200);
		expect(await entryAt(id, 'meta.archived')).toMatchObject({ op: 'set', before: false, after: true, actor: { id: alice.id }, source: 'api' });
		expect((await api(`/api/records/${id}/private`, admin, { method: 'POST', body: JSON.stringify({ private: true }) })).status).toBe(200);
		// Private now (Alice no longer sees it): its owner and admins read its history.
		expect((await api(`/api/records/${id}/history`, alice)).status).toBe(404);
		expect(await entryAt(id, 'private', undefined, admin)).toMatchObject({ op: 'set', before: false, after: true, actor: { id: admin.id }, source: 'api' });
	});

	it("does not fold one person's edits of a field together across someone else's edit in between", async () => {
		const id = await createRecord(server, { name: 'Interleaved Ltd', company: 'Start Co' });
		const a = connect(id, alice);
		const b = connect(id, bob);
		await Promise.all([providersSynced(a.provider), providersSynced(b.provider)]);
		fieldsOf(a.doc).set('company', 'Alice One');
		await entryAt(id, 'fields.company', (e) => e.after === 'Alice One');
		fieldsOf(b.doc).set('company', 'Bob One');
		await entryAt(id, 'fields.company', (e) => e.after === 'Bob One');
		fieldsOf(a.doc).set('company', 'Alice Two'); // within Alice's coalescing window, but Bob changed it in between
		const last = await entryAt(id, 'fields.company', (e) => e.after === 'Alice Two');
		expect(last).toMatchObject({ before: 'Bob One', changes: 1, actor: { name: alice.name } });
		const entries = (await history(id, 'field=fields.company')).filter((e) => e.op !== 'conflict');
		expect(entries.map((e) => [e.actor.name, e.before, e.after])).toEqual([
			[alice.name, 'Bob One', 'Alice Two'],
			[bob.name, 'Alice One', 'Bob One'],
			[alice.name, 'Start Co', 'Alice One']
		]);
	});


	it('folds each person’s run of typing in the notes while two people type at once: one entry each, counts that add up', async () => {
		const id = await createRecord(server, { name: 'Two Typists Ltd' });
		const a = connect(id, alice);
		const b = connect(id, bob);
		await Promise.all([providersSynced(a.provider), providersSynced(b.provider)]);
		const aliceText = 'Call on Monday.';
		const bobText = 'Send the quote.';
		// Keystroke by keystroke, taking turns, each waiting for the other's key to arrive.
		for (let i = 0; i < aliceText.length; i++) {
			notesOf(a.doc).insert(notesOf(a.doc).length, aliceText[i]);
			await eventually(() => notesOf(b.doc).length === 2 * i + 1, "Alice's key to reach Bob");
			notesOf(b.doc).insert(0, bobText[bobText.length - 1 - i]);
			await eventually(() => notesOf(a.doc).length === 2 * i + 2, "Bob's key to reach Alice");
		}
		expect(notesOf(a.doc).toString()).toBe(bobText + aliceText);
		await eventually(async () => {
			const counts = (await history(id, 'field=notes')).map((e) => [e.actor.name, e.changes]);
			return counts.length === 2 && counts.every(([, changes]) => changes === aliceText.length);
		}, 'one notes entry per person, each with every keystroke');
		const entries = await history(id, 'field=notes');
		const byPerson = Object.fromEntries(entries.map((e) => [e.actor.name, e.after]));
		expect(byPerson[alice.name]).toMatchObject({ inserted: aliceText.length, deleted: 0 });
		expect(byPerson[bob.name]).toMatchObject({ inserted: bobText.length, deleted: 0 });
	});
	it("attribute items under another person's client id that the server never saw, relayed in a sync step 2, to the sender", async () => {
		const id = await createRecord(server, { name: 'Relay Co' });
		const a = connect(id, alice);
		await providersSynced(a.provider);
		fieldsOf(a.doc).set('city', 'Hangzhou'); // Alice's client id is now bound to her
		await entryAt(id, 'city');
		a.provider.destroy();

		// Offline, Alice edits; her change reaches Bob's copy by another way (not the server).
		fieldsOf(a.doc).set('company', 'Written by Alice');
		const bobDoc = new Y.Doc();
		Y.applyUpdate(bobDoc, Y.encodeStateAsUpdate(a.doc));
		const b = connect(id, bob, bobDoc);
		await providersSynced(b.provider);
		const entry = await entryAt(id, 'company');
		// The server cannot tell Alice's unsent edit from Bob writing under her client id: Bob, who sent it, answers for it.
		expect(entry).toMatchObject({ after: 'Written by Alice', actor: { id: bob.id, name: bob.name }, relayedBy: null });
		expect((await stored(id)).company).toBe('Written by Alice');
	});

	it('refuse a live update under a client id bound to someone else, and keep the socket', async () => {
		const id = await createRecord(server, { name: 'Forgery Inc', company: 'Genuine' });
		const a = connect(id, alice);
		await providersSynced(a.provider);
		fieldsOf(a.doc).set('city', 'Suzhou');
		await entryAt(id, 'city');

		const warnings: string[] = [];
		vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.join(' ')));
		const b = connect(id, bob);
		await providersSynced(b.provider);
		const own = b.doc.clientID;
		b.doc.clientID = a.doc.clientID; // Bob's edits now claim to be Alice's
		fieldsOf(b.doc).set('company', 'Forged');
		b.doc.clientID = own; // (for the provider's awareness on leaving)
		await eventually(() => warnings.some((w) => w.includes('belongs to someone else')), 'the stock client to be told (permission denied)');
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect((await stored(id)).company).toBe('Genuine');
		expect(fieldsOf(a.doc).get('company')).toBe('Genuine');
		expect((await history(id, 'field=company')).filter((e) => e.op !== 'create')).toEqual([]);
		expect(b.provider.wsconnected).toBe(true);

		// The same on /sync: a `refused` frame with code forged-client-id, for that document only.
		const forger = new Y.Doc();
		Y.applyUpdate(forger, Y.encodeStateAsUpdate(a.doc));
		forger.clientID = a.doc.clientID;
		const updates: Uint8Array[] = [];
		forger.on('update', (update: Uint8Array) => updates.push(update));
		fieldsOf(forger).set('company', 'Forged again');
		// Frames sent by hand, the document not opened on the client: it must not answer the server's sync step 1 (an empty catch-up may be acknowledged).
		const client = syncClient(server, bob);
		await client.ready;
		client.send(encodeFrame(id, MessageType.sync, (e) => syncProtocol.writeSyncStep1(e, new Y.Doc())));
		await eventually(() => client.of(id, MessageType.sync).some((f) => f.detail === syncProtocol.messageYjsSyncStep2), 'the server state');
		client.send(encodeFrame(id, MessageType.sync, (e) => syncProtocol.writeUpdate(e, updates[0])));
		await eventually(() => client.of(id, MessageType.refused).length > 0, 'a refusal');
		expect(client.of(id, MessageType.refused)[0]?.detail.code).toBe('forged-client-id');
		expect(client.socket!.readyState).toBe(WebSocket.OPEN);
		expect(client.of(id, MessageType.saved).length > 0).toBe(false);
		client.disconnect();
		expect((await stored(id)).company).toBe('Genuine');

		// Alice herself still writes with her id.
		fieldsOf(a.doc).set('company', 'Genuine Ltd');
		await eventually(async () => (await stored(id)).company === 'Genuine Ltd', "Alice's edit");
	});

	it('record exactly one conflict, naming both people, for concurrent offline edits of one field', async () => {
		const id = await createRecord(server, { name: 'Conflict Co', company: 'Original' });
		const { a, b, winner, loser } = await crossedEdits(id, 'company', 'From Alice', 'From Bob');
		await new Promise((resolve) => setTimeout(resolve, 300));
		const conflicts = await history(id, 'op=conflict');
		expect(conflicts).toHaveLength(1);
		const [conflict] = conflicts;
		expect(conflict).toMatchObject({ path: 'fields.company', before: loser, after: winner });
		expect(conflict.conflict!.winner.value).toBe(winner);
		expect(conflict.conflict!.loser.value).toBe(loser);
		const people = [conflict.conflict!.winner.person.id, conflict.conflict!.loser.person.id].sort();
		expect(people).toEqual([alice.id, bob.id].sort());
		expect(conflict.conflict![winner === 'From Alice' ? 'winner' : 'loser'].person.name).toBe(alice.name);

		// "Keep the other value": restoring the conflict entry puts the lost value back.
		const restored = await api(`/api/records/${id}/restore`, alice, { method: 'POST', body: JSON.stringify({ entryId: conflict.id }) });
		expect(restored.status).toBe(200);
		await eventually(() => fieldsOf(a.doc).get('company') === loser && fieldsOf(b.doc).get('company') === loser, 'the restored value to reach both');
		expect(await entryAt(id, 'company', (e) => e.source === 'restore')).toMatchObject({ op: 'set', before: winner, after: loser, actor: { id: alice.id } });
	});
});

describe('conflicts across the workspace (the board asks for its grouping field)', () => {
	const conflictsAt = async (field: string, who: Person | string = alice): Promise<AuditEntry[]> => {
		const response = await api(`/api/conflicts?field=${encodeURIComponent(field)}`, who);
		expect(response.status).toBe(200);
		return ((await response.json()) as { conflicts: AuditEntry[] }).conflicts;
	};

	it('lists unsettled conflicts at a field of any record the asker may see, newest first; a restore settles one; private records of others stay out', async () => {
		const admin = await person('Ada (admin)', 'admin');
		const shared = await createRecord(server, { name: 'Crossed Moves Ltd', stage: 'proposal' });
		const hidden = await createRecord(server, { name: 'Hidden Crossing Ltd', stage: 'proposal' });
		// Two people move one card at once.
		const { winner, loser } = await crossedEdits(shared, 'stage', 'won', 'lost');
		await crossedEdits(hidden, 'stage', 'won', 'lost');
		expect((await api(`/api/records/${hidden}/private`, admin, { method: 'POST', body: JSON.stringify({ private: true }) })).status).toBe(200);

		// Alice, an editor, does not see the private record, nor its conflict; an admin sees both, newest first.
		const seen = await conflictsAt('stage');
		expect(seen.map((entry) => entry.recordId)).toEqual([shared]);
		expect(seen[0]).toMatchObject({ path: 'fields.stage', op: 'conflict', before: loser, after: winner });
		expect(seen[0].conflict!.loser.value).toBe(loser);
		expect((await conflictsAt('stage', admin)).map((entry) => entry.recordId)).toEqual([hidden, shared]);
		// Only the field asked for.
		expect(await conflictsAt('company')).toEqual([]);

		// Settled by a restore at its place, as on the record page.
		expect((await api(`/api/records/${shared}/restore`, alice, { method: 'POST', body: JSON.stringify({ entryId: seen[0].id }) })).status).toBe(200);
		await eventually(async () => (await conflictsAt('stage')).length === 0, 'the conflict settled');
		expect((await conflictsAt('stage', admin)).map((entry) => entry.recordId)).toEqual([hidden]);
	});

	it('refuses a field that is not a field key and a period out of range, with a message', async () => {
		for (const query of ['field=', 'field=fields.stage', "field=stage'%20OR%201=1", 'field=stage&days=0', 'field=stage&days=abc', 'field=stage&days=366']) {
			const response = await api(`/api/conflicts?${query}`, alice);
			expect(response.status, query).toBe(400);
			expect(((await response.json()) as { message: string }).message, query).toMatch(/field must be|days must be/);
		}
	});
});

describe('the audit API', () => {
	it('pages and filters a record’s history, and hides records the asker may not see', async () => {
		const id = await createRecord(server, { name: 'History Co' });
		const a = connect(id, alice);
		await providersSynced(a.provider);
		// Valid values: the live path refuses an invalid one (a country must be an ISO code).
		for (const [field, value] of Object.entries({ city: 'Hangzhou', country: 'CN', industry: 'Retail', title: 'CFO' })) fieldsOf(a.doc).set(field, value);
		await eventually(async () => (await history(id)).length === 5, 'five entries');
		const first = await api(`/api/records/${id}/history?limit=2`, alice);
		const page = (await first.json()) as AuditPage;
		expect(page.total).toBe(5);
		expect(page.entries).toHaveLength(2);
		const second = (await (await api(`/api/records/${id}/history?limit=2&offset=2`, alice)).json()) as AuditPage;
		expect(second.entries.map((e) => e.id)).not.toContain(page.entries[0].id);
		const all = await history(id);
		expect(all.map((e) => e.at)).toEqual([...all.map((e) => e.at)].sort().reverse());
		expect(await history(id, 'field=industry')).toHaveLength(1);
		expect(await history(id, 'field=fields.industry')).toHaveLength(1);
		expect(await history(id, `person=${encodeURIComponent(bob.id)}`)).toHaveLength(0);
		// A viewer may read the history of what they can see.
		expect((await api(`/api/records/${id}/history`, tokenFor(server, 'viewer'))).status).toBe(200);
		expect((await api(`/api/records/${id}/history?limit=0`, alice)).status).toBe(400);
		expect((await api(`/api/records/00000000-0000-4000-8000-000000000000/history`, alice)).status).toBe(404);
		expect((await fetch(`${server.url}/api/records/${id}/history`)).status).toBe(401);
	});

	it('gives admins the workspace log with filters and a CSV export, and refuses others', async () => {
		const id = await createRecord(server, { name: 'Export me' });
		const mallory = await person('=HYPERLINK("http://evil.example")');
		const a = connect(id, mallory);
		await providersSynced(a.provider);
		fieldsOf(a.doc).set('company', 'Export Co');
		await entryAt(id, 'company');
		const admin = tokenFor(server, 'admin');

		expect((await api('/api/audit', alice)).status).toBe(403);
		const response = await api(`/api/audit?record=${id}&field=company&person=${encodeURIComponent(mallory.id)}`, admin);
		expect(response.status).toBe(200);
		const page = (await response.json()) as AuditPage;
		expect(page.entries).toHaveLength(1);
		expect(page.entries[0]).toMatchObject({ recordId: id, path: 'fields.company', after: 'Export Co' });
		const future = new Date(Date.now() + 3_600_000).toISOString();
		expect(((await (await api(`/api/audit?record=${id}&from=${future}`, admin)).json()) as AuditPage).total).toBe(0);
		expect(((await (await api(`/api/audit?record=${id}&to=${future}`, admin)).json()) as AuditPage).total).toBe(2);
		expect((await api('/api/audit?from=yesterday-ish', admin)).status).toBe(400);

		const csv = await api(`/api/audit?record=${id}&format=csv`, admin);
		expect(csv.status).toBe(200);
		expect(csv.headers.get('content-type')).toContain('text/csv');
		const lines = (await csv.text()).trim().split('\r\n');
		expect(lines[0]).toBe('id,seq,at,first_at,changes,record_id,actor_id,actor_name,source,relayed_by,path,op,before,after,conflict,hash');
		expect(lines).toHaveLength(3);
		expect(lines.some((line) => line.includes('fields.company') && line.includes('Export Co'))).toBe(true);
		// A value a spreadsheet would run as a formula is defused.
		expect(lines.some((line) => line.includes(`,"'=HYPERLINK(""http://evil.example"")",`))).toBe(true);
		expect((await api('/api/audit?format=csv', alice)).status).toBe(403);
	});

	it('restores an earlier value, refuses what cannot be restored, and only for editors', async () => {
		const id = await createRecord(server, { name: 'Restore Co', stage: 'lead' });
		const a = connect(id, alice);
		await providersSynced(a.provider);
		fieldsOf(a.doc).set('stage', 'won');
		notesOf(a.doc).insert(0, 'hello');
		const stage = await entryAt(id, 'stage');
		const notes = await entryAt(id, 'notes');

		expect((await api(`/api/records/${id}/restore`, tokenFor(server, 'viewer'), { method: 'POST', body: JSON.stringify({ entryId: stage.id }) })).status).toBe(403);
		expect((await api(`/api/records/${id}/restore`, bob, { method: 'POST', body: JSON.stringify({ entryId: notes.id }) })).status).toBe(400);
		expect((await api(`/api/records/${id}/restore`, bob, { method: 'POST', body: JSON.stringify({ entryId: '999999999' }) })).status).toBe(404);
		const response = await api(`/api/records/${id}/restore`, bob, { method: 'POST', body: JSON.stringify({ entryId: stage.id }) });
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ restored: { path: 'fields.stage', value: 'lead' } });
		await eventually(() => fieldsOf(a.doc).get('stage') === 'lead', 'the restored value to reach the client');
		expect(await entryAt(id, 'stage', (e) => e.source === 'restore')).toMatchObject({ before: 'won', after: 'lead', actor: { id: bob.id } });
		// The entry id stays usable after the entry is sealed into the chain.
		const again = await api(`/api/records/${id}/restore`, bob, { method: 'POST', body: JSON.stringify({ entryId: stage.id, use: 'after' }) });
		expect(again.status).toBe(200);
		await eventually(() => fieldsOf(a.doc).get('stage') === 'won', 'the later value back');
	});
});
