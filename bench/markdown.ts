/**
 * The README's benchmark tables from the stored results:
 *
 *   node --import tsx bench/markdown.ts [full|quick]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatTable, formatTargets, RESULTS_DIR, SCENARIOS, type ScenarioResult, type Target } from './lib/report.ts';

const mode = process.argv[2] ?? 'full';
const ORDER = SCENARIOS;
type Stored = ScenarioResult & { command: string; machine: Record<string, unknown>; code: Record<string, unknown>; finishedAt: string };

const stored: Stored[] = ORDER.map((s) => path.join(RESULTS_DIR, mode, `${s}.json`))
	.filter((file) => existsSync(file))
	.map((file) => JSON.parse(readFileSync(file, 'utf8')) as Stored);
if (stored.length === 0) {
	console.error(`no results in ${path.join(RESULTS_DIR, mode)}`);
	process.exit(1);
}
const first = stored[0];
const m = first.machine;
console.log(`Machine: ${m.cpus} × ${m.cpuModel} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.platform}.\n`);
const targets: Target[] = [];
for (const result of stored) {
	console.log(`#### ${result.title}\n`);
	console.log(`<sub>${result.finishedAt.slice(0, 16).replace('T', ' ')} UTC, code at ${result.code.commit}${result.code.uncommittedFiles ? ` + ${result.code.uncommittedFiles} uncommitted paths` : ''}, \`${result.command}\`</sub>\n`);
	console.log(formatTable(result.table.headers, result.table.rows));
	console.log('');
	// Findings only: what the columns mean is explained once, in the README's prose.
	const findings = result.findings ?? result.notes.filter((n) => /waiting in the group-commit writer|Automerge vs Yjs/.test(n));
	for (const line of findings) console.log(`- ${line}`);
	if (findings.length > 0) console.log('');
	targets.push(...result.targets);
}
console.log('#### Targets\n');
console.log(formatTargets(targets));
