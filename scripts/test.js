// `npm test`: build the app (integration and e2e tests run the built server), run every
// suite once, then print the totals as one plain line for CI: "N passed, N failed".
// Extra arguments go to vitest (for example `npm test -- --project unit`).
//
// The unit tests need no build, so they run while the app builds (the build is mostly
// one core's work); integration and e2e wait for it. Before, the build (30-90 s) came
// first and everything waited for it.
//
// Two lanes run side by side: unit then integration in one (a vitest process each, so
// the unit tests need not wait for the build), e2e in the other. In one process vitest runs every file of a project without file parallelism, of every
// such project, one at a time, in a single queue (and on 2 cores its default pool has one
// worker anyway), so integration and e2e never overlapped, and each spends much of its
// time waiting on servers, browsers and sockets. Each lane still runs its files one at a
// time, and the e2e lane gets a Redis of its own (see privateRedis). With --project among
// the arguments, one process runs what was asked, as before.
//
// The lanes are evened out by running a few integration files in the e2e lane's process
// (SECOND_LANE_INTEGRATION; vitest.config.ts reads the lists from the environment). A
// third lane would not help on 2 cores: the slow integration files are busy on the CPU
// most of their time (backup-restore used 216 s of CPU where CI took 220 s of wall time),
// so two lanes already keep both cores busy, and a third would only share them.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

const args = process.argv.slice(2);
const projectChosen = args.includes('--project') || args.some((arg) => arg.startsWith('--project='));
const unitOnly = args.includes('unit') && projectChosen;
const buildWanted = !unitOnly && process.env.ACCORD_SKIP_BUILD !== '1';

// tsconfig.json extends .svelte-kit/tsconfig.json, which a fresh checkout has only once
// SvelteKit has synced (the build does so, but the unit tests start before it has): every
// unit test file failed to load on a clean clone without this. A second or so.
const sync = spawnSync('npx', ['svelte-kit', 'sync'], { stdio: 'inherit' });
if (sync.status !== 0) {
	console.log('0 passed, 1 failed');
	process.exit(1);
}
if (buildWanted && projectChosen) {
	const build = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
	if (build.status !== 0) {
		console.log('0 passed, 1 failed');
		process.exit(1);
	}
}

/**
 * The app's build, in the background (the side-by-side lanes start their unit tests meanwhile).
 * @returns {Promise<boolean>} whether it succeeded
 */
function buildInBackground() {
	return new Promise((resolve) => {
		const child = spawn('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
		child.once('error', () => resolve(false));
		child.once('exit', (code) => resolve(code === 0));
	});
}

mkdirSync('test-results', { recursive: true });
const report = 'test-results/vitest.json';

/**
 * Integration files run in the e2e lane's process. On CI's 2-core machine the lanes took
 * 1,243 s (unit+integration) and 890 s (e2e); audit-chain and audit-log took about 144 s
 * and 25 s of the first, so they moved. Later the lanes were about 1,710 s and 1,150 s
 * (files grew), so backup-restore moved too: about 150 s of CPU alone after its last
 * trim (its wall time on CI is about its CPU time), which leaves roughly 1,560 s and
 * 1,300 s before the savings of the same change (the unit tests during the build, which
 * shortens only the first lane, and cheaper command-line runs, most of them in the first
 * lane's files). Revisit the list from the lane times printed at the end and the
 * per-file durations in test-results/vitest.json when files grow or are added.
 * With files sharing one module graph per process (vitest.config.ts) and the child
 * processes bundled, a clean-clone run here took 1,147 s and 1,075 s, before the e2e
 * lane lost about 40 s of waiting at sign-in; multi-instance (about 40 s, most of it
 * the awareness timeout's wait) moved then.
 */
const SECOND_LANE_INTEGRATION = ['tests/integration/audit-chain.test.ts', 'tests/integration/audit-log.test.ts', 'tests/integration/backup-restore.test.ts', 'tests/integration/multi-instance.test.ts'];

/**
 * One vitest process; its output lines prefixed with `label` when several run at once.
 * @param {string | null} label
 * @param {string[]} vitestArgs
 * @param {string} outputFile
 * @returns {Promise<number>} its exit code
 */
function runVitest(label, vitestArgs, outputFile, env = process.env) {
	return new Promise((resolve) => {
		const child = spawn('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${outputFile}`, ...vitestArgs], {
			env,
			stdio: label ? ['ignore', 'pipe', 'pipe'] : 'inherit'
		});
		if (label && child.stdout && child.stderr) {
			/** @type {[import('node:stream').Readable, NodeJS.WriteStream][]} */
			const pipes = [
				[child.stdout, process.stdout],
				[child.stderr, process.stderr]
			];
			for (const [stream, sink] of pipes) {
				readline.createInterface({ input: stream }).on('line', (line) => sink.write(`[${label}] ${line}\n`));
			}
		}
		child.once('error', () => resolve(1));
		child.once('exit', (code) => resolve(code ?? 1));
	});
}

/**
 * @typedef {{ numTotalTestSuites: number, numPassedTestSuites: number, numFailedTestSuites: number, numPendingTestSuites: number, numTotalTests: number, numPassedTests: number, numFailedTests: number, numPendingTests: number, numTodoTests: number, startTime?: number, success?: boolean, testResults?: unknown[] }} Report
 */

/**
 * @param {string} file
 * @returns {Report | null}
 */
function readReport(file) {
	try {
		return JSON.parse(readFileSync(file, 'utf8'));
	} catch {
		return null;
	}
}

/**
 * Totals of one vitest JSON report (null: the run wrote none, which counts as a failure).
 * @param {Report | null} result
 */
function totalsOf(result) {
	if (!result) return { passed: 0, failed: 1, skipped: 0 };
	return {
		passed: result.numPassedTests,
		failed: result.numFailedTests + (result.numFailedTestSuites > 0 && result.numFailedTests === 0 ? result.numFailedTestSuites : 0),
		skipped: result.numPendingTests + result.numTodoTests
	};
}

/**
 * The lanes' reports as one, in vitest's JSON format, for whatever reads test-results/vitest.json.
 * @param {(Report | null)[]} results
 */
function mergeReports(results) {
	const present = /** @type {Report[]} */ (results.filter(Boolean));
	/** @type {Record<string, number>} */
	const merged = { numTotalTestSuites: 0, numPassedTestSuites: 0, numFailedTestSuites: 0, numPendingTestSuites: 0, numTotalTests: 0, numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 };
	for (const result of present) for (const key of Object.keys(merged)) merged[key] += /** @type {Record<string, number>} */ (/** @type {unknown} */ (result))[key] ?? 0;
	return {
		...merged,
		startTime: Math.min(...present.map((r) => r.startTime ?? Date.now())),
		success: present.length === results.length && present.every((r) => r.success),
		testResults: present.flatMap((r) => r.testResults ?? [])
	};
}

/**
 * A Redis of the e2e lane's own (the machine's redis-server on a free port, no
 * persistence), when the tests use Redis: pub/sub channels are global to a Redis server
 * and every test server's workspace is `demo`, so servers of the two lanes on one Redis
 * would hear each other's workspace notices and presence. Null when there is no
 * redis-server here: the lanes then share REDIS_URL.
 */
async function privateRedis() {
	if (!process.env.REDIS_URL) return null;
	const port = await new Promise((resolve, reject) => {
		const probe = net.createServer();
		probe.once('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const { port } = /** @type {import('node:net').AddressInfo} */ (probe.address());
			probe.close(() => resolve(port));
		});
	});
	const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
	const ready = await new Promise((resolve) => {
		let output = '';
		const timer = setTimeout(() => resolve(false), 10_000);
		child.once('error', () => resolve(false));
		child.once('exit', () => resolve(false));
		child.stdout.on('data', (chunk) => {
			output += chunk.toString();
			if (/ready to accept connections/i.test(output)) {
				clearTimeout(timer);
				resolve(true);
			}
		});
	});
	if (!ready) {
		child.kill('SIGKILL');
		console.log('[e2e] no redis-server of its own could be started: the lanes share REDIS_URL');
		return null;
	}
	child.stdout.resume();
	child.stderr.resume();
	return {
		url: `redis://127.0.0.1:${port}`,
		/** Stops it and waits until it has exited (so it is reaped, not left behind). */
		stop: () =>
			new Promise((resolve) => {
				if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
				child.once('exit', () => resolve(undefined));
				child.kill('SIGTERM');
			})
	};
}

let codes;
let results;
if (projectChosen) {
	codes = [await runVitest(null, args, report)];
	results = [readReport(report)];
} else {
	// Positional filters may match files of one lane only: the other then has nothing to run.
	const filtered = args.some((arg) => !arg.startsWith('-'));
	const redis = await privateRedis();
	const built = buildWanted ? buildInBackground() : Promise.resolve(true);
	const moved = SECOND_LANE_INTEGRATION.join(',');
	// A lane is one or more vitest runs, one after another; `afterBuild` runs wait for the app's build.
	const lanes = [
		{
			label: 'unit+integration',
			runs: [
				{ projects: ['--project', 'unit'], file: 'test-results/vitest-unit.json', afterBuild: false, env: process.env },
				{ projects: ['--project', 'integration'], file: 'test-results/vitest-integration.json', afterBuild: true, env: { ...process.env, ACCORD_TEST_INTEGRATION_SKIP: moved } }
			]
		},
		{
			label: 'e2e',
			runs: [
				{
					projects: ['--project', 'e2e', '--project', 'integration'],
					file: 'test-results/vitest-e2e.json',
					afterBuild: true,
					env: { ...process.env, ACCORD_TEST_INTEGRATION_ONLY: moved, ...(redis ? { REDIS_URL: redis.url } : {}) }
				}
			]
		}
	];
	const runs = lanes.flatMap((lane) => lane.runs);
	for (const run of runs) rmSync(run.file, { force: true });
	/** @type {number[]} */
	const seconds = [];
	try {
		const laneCodes = await Promise.all(
			lanes.map(async (lane, index) => {
				const started = Date.now();
				/** @type {number[]} */
				const codes = [];
				for (const run of lane.runs) {
					if (run.afterBuild && !(await built)) {
						// No build: what needs it cannot run (its report stays missing, which counts as a failure).
						codes.push(1);
						continue;
					}
					codes.push(await runVitest(lane.label, [...run.projects, ...(filtered ? ['--passWithNoTests'] : []), ...args], run.file, run.env));
				}
				seconds[index] = Math.round((Date.now() - started) / 1000);
				return codes;
			})
		);
		codes = laneCodes.flat();
	} finally {
		await built;
		await redis?.stop();
	}
	if (!(await built)) console.log('The build failed: integration and e2e tests did not run.');
	results = runs.map((run) => readReport(run.file));
	writeFileSync(report, JSON.stringify(mergeReports(results)));
	// What evening the lanes out (SECOND_LANE_INTEGRATION) is judged by.
	console.log(`Lanes: ${lanes.map((lane, index) => `${lane.label} ${seconds[index]} s`).join(', ')}`);
}

/**
 * The failed tests of the reports, a line each (file, test, the first line of its error),
 * printed just above the totals: CI keeps only the tail of the output, and a failure
 * named thousands of lines up is one nobody can see there.
 * @param {(Report | null)[]} reports
 */
function failuresOf(reports) {
	/** @type {string[]} */
	const lines = [];
	for (const report of reports) {
		for (const file of /** @type {Array<{ name?: string, status?: string, message?: string, assertionResults?: Array<{ fullName?: string, status?: string, failureMessages?: string[] }> }>} */ (report?.testResults ?? [])) {
			const where = String(file.name ?? '').replace(`${process.cwd()}/`, '');
			const failed = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
			for (const test of failed) lines.push(`FAILED ${where} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
			if (failed.length === 0 && file.status === 'failed') lines.push(`FAILED ${where}: ${firstLine(file.message)}`);
		}
	}
	return lines;
}

/** @param {string | undefined} text */
function firstLine(text) {
	return (text ?? '').split('\n').find((line) => line.trim() !== '')?.trim().slice(0, 300) ?? '';
}

for (const line of failuresOf(results)) console.log(line);
const totals = results.map(totalsOf).reduce((sum, t) => ({ passed: sum.passed + t.passed, failed: sum.failed + t.failed, skipped: sum.skipped + t.skipped }), { passed: 0, failed: 0, skipped: 0 });
const exitedWell = codes.every((code) => code === 0);
if (!exitedWell && totals.failed === 0) totals.failed = 1;
// Filters that matched nothing anywhere are a mistake, not a pass.
if (totals.passed + totals.failed + totals.skipped === 0) totals.failed = 1;
console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(exitedWell && totals.failed === 0 ? 0 : 1);
