/**
 * A server killed (SIGKILL) after broadcasting an edit but before committing it: no
 * audit entry exists without its update, nor the update without its entry; the client
 * id's binding, written before the edit was applied, survives; and when another client
 * sends the edit again after the restart, it is stored with its entry, attributed to
 * the person who sent it again (the server cannot tell that from a forgery). Runs on PGlite, and on Postgres when DATABASE_URL is set.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { AuditEntry, AuditPage } from '../../src/lib/model/audit.ts';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { openDatabase } from '../../server/database.ts';
import { tempDir, tempPostgresUrl, type TempDir, type TempPostgres } from '../support/databases.ts';
import { REPO_ROOT, ServerProcess, apiJson, createRecordVia } from '../support/processes.ts';
import { yWebsocketClient } from '../support/sync-client.ts';
import { eventually } from '../support/server.ts';
import { entryArgs } from '../support/entry.ts';

const engines = [
	{ name: 'pglite', available: true },
	{ name: 'postgres', available: Boolean(process.env.DATABASE_URL) }
] as const;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
	for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe.each(engines)('a crash between broadcast and commit ($name)', ({ name, available }) => {
	it.skipIf(!available)('leaves no entry without its update, keeps the binding, and attributes the edit re-sent later to the person who re-sent it', async () => {
		const dir: TempDir = await tempDir('accord-crash-');
		const pg: TempPostgres | null = name === 'postgres' ? await tempPostgresUrl() : null;
		cleanups.push(async () => {
			await pg?.drop();
			await dir.remove();
		});
		const storeOptions = { databaseUrl: pg?.url, dataDir: dir.path };

		// Two people's tokens, made before the server starts (PGlite serves one process at a time).
		const setup = await openDatabase(storeOptions);
		const alice = await setup.auth.createApiToken({ workspace: 'demo', name: 'Alice', role: 'editor', createdBy: 'test' });
		const bob = await setup.auth.createApiToken({ workspace: 'demo', name: 'Bob', role: 'editor', createdBy: 'test' });
		await setup.close();

		// Commits wait 3 s: long enough to kill the server after the broadcast and before the commit.
		const server = await ServerProcess.start(`accord-crash-${name}`, {
			databaseUrl: pg?.url ?? '',
			env: { DATA_DIR: dir.path, ACCORD_COMMIT_DELAY_MS: '3000', ACCORD_IDLE_UNLOAD_MS: '60000' }
		});
		cleanups.push(() => server.kill());
		const id = await createRecordVia(server, alice.token, { name: 'Crash Co', company: 'Before' });
		const a = yWebsocketClient(server.wsUrl, alice, id);
		const b = yWebsocketClient(server.wsUrl, bob, id);
		cleanups.push(async () => {
			a.provider.destroy();
			b.provider.destroy();
		});
		await eventually(() => a.provider.synced && b.provider.synced, 'both clients to sync');

		fieldsOf(a.doc).set('company', 'Written by Alice');
		await eventually(() => fieldsOf(b.doc).get('company') === 'Written by Alice', 'the broadcast to reach Bob', 2_000);
		a.provider.destroy(); // Alice is gone; only Bob holds her edit now
		await server.kill('SIGKILL');

		// The database, read directly: neither the update nor its entry, but the binding.
		const after = await openDatabase(storeOptions);
		try {
			const stored = (await after.documents.loadDocument(id))!;
			const doc = new Y.Doc();
			for (const update of stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates) Y.applyUpdate(doc, update);
			expect(fieldsOf(doc).get('company')).toBe('Before');
			const entries = await after.audit.query({ workspace: 'demo', recordId: id, field: 'company', limit: 10, offset: 0 });
			expect(entries.total).toBe(0);
			const bindings = await after.documents.lookupBindings(id, [a.doc.clientID]);
			expect(bindings.get(a.doc.clientID)).toEqual({ id: `token:${alice.id}`, name: 'Alice' });
		} finally {
			await after.close();
		}

		// Restarted, Bob's client reconnects by itself and sends what the server lacks.
		await server.start();
		let entry: AuditEntry | undefined;
		await eventually(
			async () => {
				const { status, body } = await apiJson<AuditPage>(`${server.url}/api/records/${id}/history?field=company`, bob.token);
				entry = status === 200 ? body.entries[0] : undefined;
				return entry !== undefined;
			},
			'the re-sent edit to be stored with its entry',
			20_000
		);
		expect(entry).toMatchObject({
			path: 'fields.company',
			op: 'set',
			before: 'Before',
			after: 'Written by Alice',
			// Stored under Alice's client id but sent by Bob, to a server that never stored it:
			// indistinguishable from a forgery, so Bob, who brought it back, answers for it.
			actor: { id: `token:${bob.id}`, name: 'Bob' },
			relayedBy: null
		});

		// A clean stop seals what is staged; the chain verifies, and update and entry are both there.
		b.provider.destroy();
		await server.kill('SIGTERM');
		const check = await openDatabase(storeOptions);
		try {
			const stored = (await check.documents.loadDocument(id))!;
			const doc = new Y.Doc();
			for (const update of stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates) Y.applyUpdate(doc, update);
			expect(fieldsOf(doc).get('company')).toBe('Written by Alice');
			const entries = await check.audit.query({ workspace: 'demo', recordId: id, field: 'company', limit: 10, offset: 0 });
			expect(entries.entries.map((e) => [e.sealed, e.after])).toEqual([[true, 'Written by Alice']]);
		} finally {
			await check.close();
		}
		const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error', DATA_DIR: dir.path };
		delete env.REDIS_URL;
		if (pg) env.DATABASE_URL = pg.url;
		else delete env.DATABASE_URL;
		const verify = spawn(process.execPath, [...entryArgs('cli'), 'audit', 'verify'], { cwd: REPO_ROOT, env });
		let output = '';
		verify.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
		verify.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
		expect(await new Promise((resolve) => verify.once('exit', resolve))).toBe(0);
		expect(output).toMatch(/\d+ entries verified\./);
		// Two server starts, three database opens and the CLI, each in its own process.
	}, 120_000);
});
