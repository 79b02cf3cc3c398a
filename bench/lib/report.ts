/**
 * Numbers into tables and files: percentiles, formatting, targets, results/<scenario>.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../results');

export interface Percentiles {
	count: number;
	p50: number;
	p95: number;
	p99: number;
	max: number;
	mean: number;
}

export function percentiles(values: number[]): Percentiles {
	if (values.length === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
	const sorted = Float64Array.from(values).sort();
	const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
	let total = 0;
	for (const v of sorted) total += v;
	return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1], mean: total / sorted.length };
}

export const ms = (value: number, digits = 1): string => (Number.isFinite(value) ? `${value.toFixed(digits)} ms` : '–');
export const num = (value: number, digits = 0): string =>
	Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–';
export function bytes(value: number): string {
	if (!Number.isFinite(value)) return '–';
	if (value >= 1024 * 1024 * 1024) return `${(value / 1024 ** 3).toFixed(2)} GB`;
	if (value >= 1024 * 1024) return `${(value / 1024 ** 2).toFixed(1)} MB`;
	if (value >= 1024) return `${(value / 1024).toFixed(1)} KB`;
	return `${Math.round(value)} B`;
}

export interface Target {
	/** What is measured, e.g. "team: Accord p99 ≤ reference p99". */
	name: string;
	/** The measured value, as shown. */
	value: string;
	/** Met, missed, or null when it could not be measured in this run. */
	met: boolean | null;
	note?: string;
}

export interface ScenarioResult {
	scenario: string;
	title: string;
	mode: 'quick' | 'full';
	parameters: Record<string, unknown>;
	/** One row per server (or per variant), as in the table. */
	rows: Record<string, unknown>[];
	table: { headers: string[]; rows: string[][] };
	targets: Target[];
	/** What this run found (printed, and carried into the README tables). */
	findings?: string[];
	/** How to read the table (printed; the README explains these once). */
	notes: string[];
}

export function machine(): Record<string, unknown> {
	const cpus = os.cpus();
	return {
		cpus: cpus.length,
		cpuModel: cpus[0]?.model ?? 'unknown',
		memoryGB: Math.round(os.totalmem() / 1024 ** 3),
		node: process.version,
		platform: `${os.type()} ${os.release()}`,
		loadAverage: os.loadavg().map((l) => Number(l.toFixed(2)))
	};
}

/** Which code was measured: the commit, and whether the working tree had changes on top. */
export function codeVersion(): Record<string, unknown> {
	try {
		const git = (...args: string[]) => execFileSync('git', args, { cwd: path.resolve(RESULTS_DIR, '../..'), encoding: 'utf8' }).trim();
		const changed = git('status', '--porcelain').split('\n').filter(Boolean).length;
		return { commit: git('rev-parse', '--short', 'HEAD'), uncommittedFiles: changed };
	} catch {
		return {};
	}
}

/** A plain-text table (also valid Markdown). */
export function formatTable(headers: string[], rows: string[][]): string {
	const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
	const line = (cells: string[]) => `| ${cells.map((c, i) => (c ?? '').padEnd(widths[i])).join(' | ')} |`;
	return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export function formatTargets(targets: Target[]): string {
	return formatTable(
		['target', 'measured', 'result'],
		targets.map((t) => [t.name, t.value, t.met === null ? 'not measured' : t.met ? 'met' : `MISSED${t.note ? ` (${t.note})` : ''}`])
	);
}

/**
 * Writes results/<scenario>.json (the latest run, whatever its mode) and a copy under
 * results/<mode>/, so a quick run never replaces the full-mode numbers the README quotes.
 */
export function writeResult(result: ScenarioResult, command: string): string {
	const text = JSON.stringify({ ...result, command, machine: machine(), code: codeVersion(), finishedAt: new Date().toISOString() }, null, '\t') + '\n';
	mkdirSync(path.join(RESULTS_DIR, result.mode), { recursive: true });
	const file = path.join(RESULTS_DIR, `${result.scenario}.json`);
	writeFileSync(file, text);
	writeFileSync(path.join(RESULTS_DIR, result.mode, `${result.scenario}.json`), text);
	return file;
}

export function printResult(result: ScenarioResult): void {
	console.log(`\n## ${result.title} (${result.mode})\n`);
	console.log(formatTable(result.table.headers, result.table.rows));
	if (result.targets.length > 0) {
		console.log('');
		console.log(formatTargets(result.targets));
	}
	for (const line of [...(result.findings ?? []), ...result.notes]) console.log(`- ${line}`);
}

export const SCENARIOS = ['team', 'audit', 'encryption', 'fanout', 'cold-open', 'scale', 'instances', 'crdt'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/**
 * results/<mode>/targets.json: the targets of the latest result of every scenario in that
 * mode (scenarios are often re-run one at a time), each with when and how it was measured.
 */
export function rebuildTargets(mode: 'quick' | 'full'): string {
	const scenarios = SCENARIOS.map((s) => path.join(RESULTS_DIR, mode, `${s}.json`))
		.filter((file) => existsSync(file))
		.map((file) => JSON.parse(readFileSync(file, 'utf8')) as ScenarioResult & { command: string; code: unknown; finishedAt: string });
	const summary = {
		mode,
		machine: machine(),
		scenarios: scenarios.map((r) => ({ scenario: r.scenario, finishedAt: r.finishedAt, command: r.command, code: r.code, targets: r.targets }))
	};
	const file = path.join(RESULTS_DIR, mode, 'targets.json');
	writeFileSync(file, JSON.stringify(summary, null, '\t') + '\n');
	return file;
}
