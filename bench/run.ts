/**
 * `npm run bench [-- --quick] [--only team,audit,encryption,fanout,…] [--servers accord,y-websocket,…] [--profile] [--cluster]`
 *
 * Runs the scenarios against Accord and its peers, one server at a time (interleaved
 * across rounds), prints a table per scenario and writes bench/results/<scenario>.json.
 * Servers run in their own processes; clients in separate worker processes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeVersion, formatTargets, machine, printResult, rebuildTargets, RESULTS_DIR, SCENARIOS, writeResult, type Scenario, type ScenarioResult } from './lib/report.ts';
import type { ServerKind } from './lib/server-process.ts';
import type { Context } from './lib/targets.ts';
import { WorkerPool } from './lib/workers.ts';
import { team } from './scenarios/team.ts';
import { audit } from './scenarios/audit.ts';
import { encryption } from './scenarios/encryption.ts';
import { fanout } from './scenarios/fanout.ts';
import { coldOpen } from './scenarios/cold-open.ts';
import { scale } from './scenarios/scale.ts';
import { instances } from './scenarios/instances.ts';
import { crdt } from './scenarios/crdt.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALL_SERVERS: ServerKind[] = ['accord', 'accord-pg', 'y-websocket', 'hocuspocus'];

function option(name: string): string | undefined {
	const args = process.argv.slice(2);
	const index = args.indexOf(`--${name}`);
	if (index >= 0) return args[index + 1];
	return args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
}
const flag = (name: string): boolean => process.argv.slice(2).includes(`--${name}`);

const quick = flag('quick');
// Quick mode compares Accord with its peers in under 5 minutes; the audit on/off and data key
// on/off scenarios (Accord against itself) run in full mode, or in quick mode when named with --only.
const DEFAULT_SCENARIOS: readonly Scenario[] = quick ? SCENARIOS.filter((s) => s !== 'audit' && s !== 'encryption') : SCENARIOS;
const only = (option('only')?.split(',') ?? [...DEFAULT_SCENARIOS]) as Scenario[];
for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; one of ${SCENARIOS.join(', ')}`);
const servers = (option('servers')?.split(',') ?? ALL_SERVERS) as ServerKind[];
for (const s of servers) if (!ALL_SERVERS.includes(s)) throw new Error(`unknown server ${s}; one of ${ALL_SERVERS.join(', ')}`);
const command = `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

const started = performance.now();
const log = (message: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);

// Accord's server loads the built app (build/handler.js).
if (!existsSync(path.join(ROOT, 'build', 'handler.js'))) {
	log('no build/ found: running vite build');
	const build = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
	if (build.status !== 0) process.exit(1);
}

const profileDir = flag('profile') ? path.join(RESULTS_DIR, 'profiles') : null;
if (profileDir) {
	rmSync(profileDir, { recursive: true, force: true });
	mkdirSync(profileDir, { recursive: true });
}

const ctx: Context = {
	quick,
	mode: quick ? 'quick' : 'full',
	servers,
	serversChosen: option('servers') !== undefined,
	postgresUrl: process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
	redisUrl: process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
	cluster: flag('cluster'),
	profileDir,
	log
};

const pool = await WorkerPool.start(2);
const results: ScenarioResult[] = [];
let failed = false;
try {
	for (const scenario of only) {
		const began = performance.now();
		try {
			let result: ScenarioResult;
			switch (scenario) {
				case 'team':
					result = await team(ctx, pool);
					break;
				case 'audit':
					result = await audit(ctx, pool);
					break;
				case 'encryption':
					result = await encryption(ctx, pool);
					break;
				case 'fanout':
					result = await fanout(ctx, pool);
					break;
				case 'cold-open':
					result = await coldOpen(ctx, pool);
					break;
				case 'scale':
					result = await scale(ctx, pool);
					break;
				case 'instances':
					result = await instances(ctx, pool);
					break;
				case 'crdt':
					result = await crdt(ctx);
					break;
				default:
					log(`${scenario}: not built yet`);
					continue;
			}
			result.parameters = { ...result.parameters, seconds: Math.round((performance.now() - began) / 1000) };
			results.push(result);
			const file = writeResult(result, command);
			printResult(result);
			log(`${scenario}: done in ${((performance.now() - began) / 1000).toFixed(0)} s → ${path.relative(ROOT, file)}`);
		} catch (error) {
			failed = true;
			log(`${scenario} failed: ${(error as Error).stack}`);
		}
	}
} finally {
	await pool.stop();
}
if (results.length > 0) {
	const targets = results.flatMap((r) => r.targets);
	console.log(`\n## Targets (${ctx.mode} mode)\n`);
	console.log(formatTargets(targets));
	const summary = { mode: ctx.mode, command, machine: machine(), code: codeVersion(), finishedAt: new Date().toISOString(), targets };
	writeFileSync(path.join(RESULTS_DIR, 'targets.json'), JSON.stringify(summary, null, '\t') + '\n');
	rebuildTargets(ctx.mode);
}
log(`finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
process.exit(failed ? 1 : 0);
