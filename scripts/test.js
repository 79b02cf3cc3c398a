// `npm test`: build the app (integration and e2e tests run the built server), run every
// suite once, then print the totals as one plain line for CI: "N passed, N failed".
// Extra arguments go to vitest (for example `npm test -- --project unit`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const unitOnly = args.includes('unit') && args.includes('--project');
if (!unitOnly && process.env.ACCORD_SKIP_BUILD !== '1') {
	const build = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
	if (build.status !== 0) {
		console.log('0 passed, 1 failed');
		process.exit(1);
	}
}

mkdirSync('test-results', { recursive: true });
const report = 'test-results/vitest.json';
const run = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], {
	stdio: 'inherit'
});

let totals = { passed: 0, failed: 0, skipped: 0 };
try {
	const result = JSON.parse(readFileSync(report, 'utf8'));
	totals = {
		passed: result.numPassedTests,
		failed: result.numFailedTests + (result.numFailedTestSuites > 0 && result.numFailedTests === 0 ? result.numFailedTestSuites : 0),
		skipped: result.numPendingTests + result.numTodoTests
	};
} catch {
	totals.failed = 1;
}
if (run.status !== 0 && totals.failed === 0) totals.failed = 1;
console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(run.status === 0 && totals.failed === 0 ? 0 : 1);
