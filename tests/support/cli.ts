/**
 * The command line (`npm run accord -- …`, server/cli.ts, from this run's bundle:
 * tests/support/entry.ts) run for real against an embedded database of the test's own:
 * a temporary data directory started as a copy of the migrated
 * template (the first command would otherwise make the database from nothing: initdb and
 * every migration), with Postgres and Redis left out of the environment.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { seedPgliteDataDir } from './database-templates.ts';
import { entryArgs } from './entry.ts';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface CliOnPglite {
	/** The data directory (files the test writes may go here too; removed by `remove`). */
	dir: string;
	/** Runs `server/cli.ts` with these arguments; rejects with `code` and `stderr` when it exits non-zero. */
	cli(args: string[]): Promise<{ stdout: string; stderr: string }>;
	remove(): void;
}

export async function cliOnPglite(prefix = 'accord-cli-'): Promise<CliOnPglite> {
	const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
	await seedPgliteDataDir(dir);
	const env = { ...process.env, DATA_DIR: dir, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'error' };
	return {
		dir,
		cli: (args) => run(process.execPath, [...entryArgs('cli'), ...args], { env, cwd: REPO_ROOT, maxBuffer: 10 * 1024 * 1024 }),
		remove: () => rmSync(dir, { recursive: true, force: true })
	};
}
