/**
 * The audit log's end is anchored outside the database: a real server appends
 * checkpoints (workspace, seq, hash) to its anchor file as it seals, and
 * `npm run accord -- audit verify` (the real command line, as a process) fails when the
 * log no longer holds an anchored entry with its hash — which is what cutting entries
 * off the end (with the append-only trigger disabled) and rewinding `audit_heads` leaves
 * behind, though the chain itself still verifies. `audit anchor` prints the heads to keep
 * elsewhere, and `audit verify --anchor SEQ:HASH` checks one given by hand.
 *
 * PGlite always; Postgres too when DATABASE_URL is set.
 */
import { spawn } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { openPglite, openPostgres } from '../../server/store/sql.ts';
import type { Sql } from '../../server/store/types.ts';
import { tempDir, tempPostgresUrl, type TempDir, type TempPostgres } from '../support/databases.ts';
import { createRecord, eventually, startTestServer } from '../support/server.ts';
import { providersSynced, yWebsocketClient } from '../support/sync-client.ts';
import { REPO_ROOT } from '../support/processes.ts';
import { entryArgs } from '../support/entry.ts';

interface Run {
	code: number | null;
	stdout: string;
	stderr: string;
}

interface Checkpoint {
	workspace: string;
	seq: number;
	hash: string;
	at: string;
}

const engines = [
	{ name: 'pglite', available: true },
	{ name: 'postgres', available: Boolean(process.env.DATABASE_URL) }
] as const;

describe.each(engines)('the audit anchor on $name', (engine) => {
	let dir: TempDir;
	let postgres: TempPostgres | null = null;
	/** How the command line finds this database (as an operator would set it). */
	let env: Record<string, string>;
	const anchorFile = () => join(dir.path, 'audit-anchors.jsonl');

	/** `npm run accord -- …` as a process: the same entry point, with this database's environment. */
	function accord(extraEnv: Record<string, string>, ...args: string[]): Promise<Run> {
		const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
		for (const name of ['DATABASE_URL', 'DATA_DIR', 'REDIS_URL', 'NODE_OPTIONS', 'ACCORD_AUDIT_ANCHOR_FILE', 'ACCORD_AUDIT_ANCHOR_KEY']) delete childEnv[name];
		const child = spawn(process.execPath, [...entryArgs('cli'), ...args], { cwd: REPO_ROOT, env: { ...childEnv, ...env, ...extraEnv } });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
	}

	async function rawSql(): Promise<Sql> {
		return postgres ? openPostgres(postgres.url) : openPglite(join(dir.path, 'pglite'));
	}

	async function checkpoints(): Promise<Checkpoint[]> {
		const text = await readFile(anchorFile(), 'utf8').catch(() => '');
		return text
			.split('\n')
			.filter(Boolean)
			.map((line) => JSON.parse(line) as Checkpoint);
	}

	beforeAll(async () => {
		if (!engine.available) return;
		dir = await tempDir('accord-anchor-');
		postgres = engine.name === 'postgres' ? await tempPostgresUrl({ migrated: true }) : null;
		// DATA_DIR in both cases: the anchor file's default place is <DATA_DIR>/audit-anchors.jsonl.
		env = postgres ? { DATABASE_URL: postgres.url, DATA_DIR: dir.path } : { DATA_DIR: dir.path };
	});
	afterAll(async () => {
		await postgres?.drop();
		await dir?.remove();
	});

	it.skipIf(!engine.available)('a running server anchors the chain as it seals, and `audit verify` checks the log against the anchor', async () => {
		// On PGlite, startTestServer starts from a copy of the migrated template.
		const server = await startTestServer({ dataDir: dir.path, databaseUrl: postgres?.url, redisUrl: undefined });
		try {
			for (let i = 0; i < 4; i++) await createRecord(server, { name: `Anchored ${i}` });
			// Creations are sealed at the sealer's next turn (they do not fold), and anchored right after.
			await eventually(async () => (await checkpoints()).some((c) => c.workspace === 'demo' && c.seq >= 4), 'a checkpoint in the anchor file', 15_000);
			const id = await createRecord(server, { name: 'Edited' });
			const { doc, provider } = yWebsocketClient(server, 'editor', id);
			await providersSynced(provider);
			for (const field of ['company', 'city', 'title']) fieldsOf(doc).set(field, `${field} 2`);
			await eventually(async () => (await server.accord.database.audit.query({ workspace: 'demo', recordId: id, limit: 1, offset: 0 })).total === 4, 'the entries');
			provider.destroy();
		} finally {
			// Stopping seals everything staged, and anchors the final head.
			await server.close();
		}
		const written = (await checkpoints()).filter((c) => c.workspace === 'demo');
		const last = written.at(-1)!;
		expect(last.seq).toBeGreaterThanOrEqual(8);
		expect(last.hash).toMatch(/^[0-9a-f]{64}$/);
		expect(Number.isNaN(Date.parse(last.at))).toBe(false);
		// One line per checkpoint, and at most one per workspace per few seconds: a handful, not one per seal.
		expect(written.length).toBeLessThanOrEqual(4);

		const honest = await accord({}, 'audit', 'verify');
		expect(honest.stderr).toBe('');
		expect(honest.code).toBe(0);
		expect(honest.stdout).toContain(`anchor seq ${last.seq}`);

		// `audit anchor` prints the heads, one checkpoint per line, to keep elsewhere.
		const printed = await accord({}, 'audit', 'anchor');
		expect(printed.code).toBe(0);
		const heads = printed.stdout
			.split('\n')
			.filter((line) => line.startsWith('{'))
			.map((line) => JSON.parse(line) as Checkpoint);
		expect(heads).toContainEqual(expect.objectContaining({ workspace: 'demo', seq: last.seq, hash: last.hash }));
		const byHand = await accord({}, 'audit', 'verify', '--workspace', 'demo', '--anchor', `${last.seq}:${last.hash}`);
		expect(byHand.code).toBe(0);

		// The attack: with the append-only trigger off, cut the last entries and rewind the head.
		const keep = last.seq - 3;
		const sql = await rawSql();
		try {
			await sql.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
			await sql.query(`DELETE FROM audit_log WHERE workspace_id = 'demo' AND seq > $1`, [keep]);
			await sql.query(
				`UPDATE audit_heads SET seq = $1, hash = (SELECT hash FROM audit_log WHERE workspace_id = 'demo' AND seq = $1) WHERE workspace_id = 'demo'`,
				[keep]
			);
			await sql.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
		} finally {
			await sql.close();
		}

		const cut = await accord({}, 'audit', 'verify');
		expect(cut.code).toBe(1);
		expect(cut.stderr).toContain(`anchor seq ${last.seq}`);
		expect(cut.stderr).toMatch(/missing or rewritten/);
		expect(cut.stderr).toContain(`the log ends at entry ${keep}`);

		// The same head kept by hand (no anchor file at all) catches it too.
		const noFile = { ACCORD_AUDIT_ANCHOR_FILE: join(dir.path, 'elsewhere', 'none.jsonl') };
		const handCut = await accord(noFile, 'audit', 'verify', '--workspace', 'demo', '--anchor', `${last.seq}:${last.hash}`);
		expect(handCut.code).toBe(1);
		expect(handCut.stderr).toContain(`anchor seq ${last.seq}`);

		// Without an anchor file, verifying still works, with a warning that the end is not anchored.
		const unanchored = await accord(noFile, 'audit', 'verify');
		expect(unanchored.code).toBe(0);
		expect(unanchored.stdout).toMatch(/Warning: .*anchor/);

		// An anchor naming a hash the log never had at that seq: rewritten.
		const rewritten = await accord(noFile, 'audit', 'verify', '--workspace', 'demo', '--anchor', `${keep}:${'a'.repeat(64)}`);
		expect(rewritten.code).toBe(1);
		expect(rewritten.stderr).toContain(`anchor seq ${keep}`);
		expect(rewritten.stderr).toMatch(/rewritten/);

		const bad = await accord({}, 'audit', 'verify', '--anchor', 'twelve');
		expect(bad.code).toBe(2);
		expect(bad.stderr).toContain('--anchor');
		// Each command is a process of its own (one at a time: PGlite serves one), hence the time allowed.
	}, 240_000);

	it.skipIf(!engine.available)('with ACCORD_AUDIT_ANCHOR_KEY, checkpoints are signed and a line that is not is ignored, with a warning', async () => {
		const keyed = await tempDir('accord-anchor-key-');
		const file = join(keyed.path, 'anchors.jsonl');
		const key = { ACCORD_AUDIT_ANCHOR_FILE: file, ACCORD_AUDIT_ANCHOR_KEY: 'correct horse battery staple' };
		try {
			const printed = await accord(key, 'audit', 'anchor');
			expect(printed.code).toBe(0);
			const lines = printed.stdout.split('\n').filter((line) => line.startsWith('{'));
			const demo = lines.map((line) => JSON.parse(line) as Checkpoint & { mac?: string }).find((c) => c.workspace === 'demo')!;
			expect(demo.mac).toMatch(/^[0-9a-f]{64}$/);
			await appendFile(file, `${lines.join('\n')}\n`);
			expect((await accord(key, 'audit', 'verify')).code).toBe(0);

			// A forged line (no valid signature) naming an entry the log does not have: ignored, said so.
			const { mac: _mac, ...unsigned } = demo;
			await appendFile(file, `${JSON.stringify({ ...unsigned, seq: demo.seq + 100 })}\n`);
			const forged = await accord(key, 'audit', 'verify');
			expect(forged.code).toBe(0);
			expect(forged.stdout).toMatch(/Warning: 1 line .*signature/);
			// Without the key the same line counts (signatures cannot be checked) and fails verification.
			const unkeyed = await accord({ ACCORD_AUDIT_ANCHOR_FILE: file }, 'audit', 'verify');
			expect(unkeyed.code).toBe(1);
		} finally {
			await keyed.remove();
		}
	}, 120_000);
});
