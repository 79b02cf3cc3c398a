/**
 * Data-subject export: `GET /api/records/:id/subject-export` (admins) hands out the
 * record's plain JSON and its whole history as one JSON file, records that it did in the
 * audit log, and refuses everyone else; `npm run accord -- subject export` prints the
 * same from the database.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/http.ts';
import type { SubjectExport } from '../../server/subject.ts';
import type { AuditPage } from '../../src/lib/model/audit.ts';
import { REPO_ROOT } from '../support/processes.ts';
import { apiFetch, createRecord, startTestServer, tempDataDir } from '../support/server.ts';
import { entryArgs } from '../support/entry.ts';

function cli(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
	const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error', ...env };
	for (const name of ['DATABASE_URL', 'REDIS_URL', 'ACCORD_WORKSPACE', 'NODE_OPTIONS']) if (!(name in env)) delete childEnv[name];
	return new Promise((resolve) => {
		execFile(process.execPath, [...entryArgs('cli'), ...args], { cwd: REPO_ROOT, env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
			resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
		});
	});
}

describe('data-subject export', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	let id = '';

	beforeAll(async () => {
		data = tempDataDir('accord-subject-');
		server = await startTestServer({ dataDir: data.dir });
		id = await createRecord(server, { name: '王芳', company: 'Acme 上海', email: 'wang.fang@example.com', phone: '+86 21 5555 0100' }, { tags: ['vip'], notes: 'Met at the fair.' });
		const patched = await apiFetch(`${server.url}/api/records/${id}`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ fields: { city: '上海', stage: 'qualified' } })
		});
		expect(patched.status).toBe(200);
	}, 60_000);

	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	it('gives an admin the record and its whole history as one JSON file, and audits the export', async () => {
		const response = await apiFetch(`${server.url}/api/records/${id.toUpperCase()}/subject-export`, {}, 'admin');
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toMatch(/^application\/json/);
		expect(response.headers.get('content-disposition')).toBe(`attachment; filename="accord-subject-${id}.json"`);
		const exported = (await response.json()) as SubjectExport;
		expect(exported.format).toBe('accord-subject-export');
		expect(exported.recordId).toBe(id);
		const served = await (await apiFetch(`${server.url}/api/records/${id}`, {}, 'admin')).json();
		expect(exported.record).toEqual(served);
		expect(exported.record.fields).toMatchObject({ name: '王芳', email: 'wang.fang@example.com', city: '上海' });
		// Oldest first: the creation, then the changes, each with its values.
		expect(exported.history[0]).toMatchObject({ op: 'create', recordId: id });
		expect(exported.history).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'fields.city', op: 'set', after: '上海' })]));
		expect(exported.historyTruncated).toBe(false);

		const history = (await (await apiFetch(`${server.url}/api/records/${id}/history?op=export`, {}, 'admin')).json()) as AuditPage;
		expect(history.entries).toHaveLength(1);
		expect(history.entries[0]).toMatchObject({ op: 'export', path: 'record', before: null, after: null, actor: { name: 'test admin' } });
	});

	it('refuses editors and viewers, and answers 404 for a record that does not exist', async () => {
		for (const role of ['editor', 'viewer'] as const) {
			const refused = await apiFetch(`${server.url}/api/records/${id}/subject-export`, {}, role);
			expect(refused.status).toBe(403);
			expect(((await refused.json()) as { message: string }).message).toMatch(/Only admins/);
		}
		const missing = await apiFetch(`${server.url}/api/records/00000000-0000-4000-8000-000000000000/subject-export`, {}, 'admin');
		expect(missing.status).toBe(404);
		const notAnId = await apiFetch(`${server.url}/api/records/not-an-id/subject-export`, {}, 'admin');
		expect(notAnId.status).toBe(404);
	});

	it('prints the same export from the command line', async () => {
		const databaseUrl = server.accord.config.databaseUrl;
		// The embedded database serves one process: the server stops first.
		if (!databaseUrl) await server.close();
		const run = await cli({ DATA_DIR: data.dir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }, ['subject', 'export', id]);
		expect(run.stderr).toBe('');
		expect(run.code).toBe(0);
		const exported = JSON.parse(run.stdout) as SubjectExport;
		expect(exported.recordId).toBe(id);
		expect(exported.record.fields).toMatchObject({ name: '王芳', city: '上海', stage: 'qualified' });
		expect(exported.record.tags).toEqual(['vip']);
		expect(exported.history.map((e) => e.op)).toContain('create');
		expect(exported.exportedBy).toEqual({ id: 'cli', name: 'Command line' });

		const unknown = await cli({ DATA_DIR: data.dir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }, ['subject', 'export', '00000000-0000-4000-8000-000000000000']);
		expect(unknown.code).toBe(1);
		expect(unknown.stderr).toMatch(/There is no record 00000000-0000-4000-8000-000000000000 in workspace demo/);
	});
});
