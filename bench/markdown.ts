/**
 * The README's benchmark tables from the stored results:
 *
 *   node --import tsx bench/markdown.ts [full|quick]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatTable, formatTargets, RESULTS_DIR, type ScenarioResult, type Target } from './lib/report.ts';

const mode = process.argv[2] ?? 'full';
const ORDER = ['team', 'fanout', 'cold-open', 'scale', 'instances', 'crdt'];
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
console.log(
	`Measured ${first.finishedAt.slice(0, 10)} on ${m.cpus} × ${m.cpuModel} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.platform}; ` +
		`code at ${first.code.commit}${first.code.uncommittedFiles ? ` plus ${first.code.uncommittedFiles} uncommitted files` : ''}; ` +
		`command \`${first.command}\`.\n`
);
const targets: Target[] = [];
for (const result of stored) {
	console.log(`#### ${result.title}\n`);
	console.log(formatTable(result.table.headers, result.table.rows));
	console.log('');
	for (const note of result.notes) console.log(`- ${note}`);
	console.log('');
	targets.push(...result.targets);
}
console.log('#### Targets\n');
console.log(formatTargets(targets));
