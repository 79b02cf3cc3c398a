/**
 * `node --import tsx bench/search-browser.ts [--records 100000] [--rounds 10]`
 *
 * The shipped search index (src/lib/search/index-engine.ts) measured where it runs: in
 * headless Chromium (the machine's /usr/bin/chromium, never a downloaded one), over the
 * same synthetic records and queries as bench/search-engines.ts. Build time, heap growth
 * (after garbage collection, through the DevTools protocol), query p50/p95 (narrow and
 * broad), an edit until it is findable, and a saved index written to IndexedDB and read
 * back until it answers (as the worker does at start). Runs on the page's thread of a
 * blank page: the worker runs the same code. Prints a table and writes
 * bench/results/search-browser.json (with the load average during the run). Not in npm test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launchBrowser } from '../tests/support/browser.ts';
import { percentiles, RESULTS_DIR } from './lib/report.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function option(name: string): string | undefined {
	const args = process.argv.slice(2);
	const at = args.indexOf(`--${name}`);
	return at >= 0 ? args[at + 1] : undefined;
}

const count = Number(option('records') ?? 100_000);
const rounds = Number(option('rounds') ?? 10);

const bundle = await build({ entryPoints: [path.join(HERE, 'browser/search-entry.ts')], bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, logLevel: 'warning' });
const browser = await launchBrowser();
// Each step said as it starts (stderr): a run of many minutes shows where it is.
const step = (what: string) => console.error(`[search browser] ${new Date().toISOString().slice(11, 19)} ${what} (load ${os.loadavg()[0].toFixed(1)})`);
try {
	const page = await browser.newPage();
	page.setDefaultTimeout(0);
	// A page with an origin of its own (IndexedDB is refused to about:blank), answered here, never fetched.
	await page.route('http://search-bench.localhost/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>search bench</title>' }));
	await page.goto('http://search-bench.localhost/');
	await page.evaluate(bundle.outputFiles[0].text);
	const cdp = await page.context().newCDPSession(page);
	const heap = async () => {
		await cdp.send('HeapProfiler.collectGarbage');
		return (await cdp.send('Runtime.getHeapUsage')).usedSize as number;
	};
	// The renderer's CPU time (DevTools' ProcessTime, seconds): on a shared machine the wall clock measures the load as much as the code.
	await cdp.send('Performance.enable');
	const processTime = async (): Promise<number> => {
		const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
		return (metrics.find((m) => m.name === 'ProcessTime')?.value ?? NaN) * 1000;
	};
	// The tokenizer's own warm-up (pinyin dictionary, segmenter) is not the index's memory.
	await page.evaluate(() => (globalThis as unknown as { searchBench: { build(n: number): unknown } }).searchBench.build(200));
	const before = await heap();
	step(`building ${count} records in Chromium`);
	const loadAverages: number[] = [os.loadavg()[0]];
	const cpuBefore = await processTime();
	const built = (await page.evaluate((n) => (globalThis as unknown as { searchBench: { build(n: number): unknown } }).searchBench.build(n), count)) as { buildMs: number; tokenizeMs: number; mergeMs: number };
	step('built; reading the CPU time');
	const buildCpuMs = (await processTime()) - cpuBefore;
	step('collecting garbage, reading the heap');
	loadAverages.push(os.loadavg()[0]);
	const heapMB = ((await heap()) - before) / 2 ** 20;
	step('querying');
	const answers = (await page.evaluate((r) => (globalThis as unknown as { searchBench: { queries(r: number): unknown } }).searchBench.queries(r), rounds)) as { text: string; kind: string; times: number[]; total: number }[];
	loadAverages.push(os.loadavg()[0]);
	step('editing');
	const edits = (await page.evaluate((r) => (globalThis as unknown as { searchBench: { edit(r: number): unknown } }).searchBench.edit(r), 20)) as number[];
	step('saving to IndexedDB and loading back');
	const saveCpuBefore = await processTime();
	const saved = (await page.evaluate(() => (globalThis as unknown as { searchBench: { saveAndLoad(): unknown } }).searchBench.saveAndLoad())) as { savedMB: number; saveMs: number; readMs: number; loadMs: number; loadedQueryMs: number };
	const saveAndLoadCpuMs = (await processTime()) - saveCpuBefore;
	loadAverages.push(os.loadavg()[0]);
	const all = answers.flatMap((a) => a.times);
	const narrow = answers.filter((a) => a.kind === 'narrow').flatMap((a) => a.times);
	const broad = answers.filter((a) => a.kind === 'broad').flatMap((a) => a.times);
	const result = {
		records: count,
		chromium: browser.version(),
		loadAverage: { min: Math.min(...loadAverages), max: Math.max(...loadAverages), cpus: os.cpus().length },
		buildMs: built.buildMs,
		mergeMs: built.mergeMs,
		tokenizeMs: built.tokenizeMs,
		/** The renderer's CPU time over tokenizing, indexing and merging (the build's wall clock is buildMs + tokenizeMs). */
		buildCpuMs,
		/** The renderer's CPU time over the IndexedDB write, the read and the load. */
		saveAndLoadCpuMs,
		heapMB,
		savedMB: saved.savedMB,
		idbSaveMs: saved.saveMs,
		idbReadMs: saved.readMs,
		idbLoadMs: saved.loadMs,
		loadedFirstQueryMs: saved.loadedQueryMs,
		editFindableP50Ms: percentiles(edits).p50,
		editFindableMaxMs: Math.max(...edits),
		queryP50Ms: percentiles(all).p50,
		queryP95Ms: percentiles(all).p95,
		narrowP95Ms: percentiles(narrow).p95,
		broadP95Ms: percentiles(broad).p95,
		perQuery: answers.map((a) => ({ text: a.text, kind: a.kind, total: a.total, p50: percentiles(a.times).p50, p95: percentiles(a.times).p95 }))
	};
	console.log(`\n${count} records, Chromium ${result.chromium}, load average ${result.loadAverage.min.toFixed(1)}–${result.loadAverage.max.toFixed(1)} on ${result.loadAverage.cpus} cores\n`);
	console.log(`renderer CPU: ${(buildCpuMs / 1000).toFixed(1)} s for tokenizing and the build; ${(saveAndLoadCpuMs / 1000).toFixed(2)} s for the IndexedDB write, read and load\n`);
	console.log('| index build (merge) | tokenizing | heap growth | saved | IndexedDB write | IndexedDB read to answering | query p50 | query p95 | narrow p95 | broad p95 | edit findable p50 / max |');
	console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
	console.log(`| ${(result.buildMs / 1000).toFixed(1)} s (${(result.mergeMs / 1000).toFixed(1)} s) | ${(result.tokenizeMs / 1000).toFixed(1)} s | ${heapMB.toFixed(0)} MB | ${result.savedMB.toFixed(0)} MB | ${(result.idbSaveMs / 1000).toFixed(2)} s | ${(result.idbLoadMs / 1000).toFixed(2)} s | ${result.queryP50Ms.toFixed(2)} ms | ${result.queryP95Ms.toFixed(1)} ms | ${result.narrowP95Ms.toFixed(1)} ms | ${result.broadP95Ms.toFixed(1)} ms | ${result.editFindableP50Ms.toFixed(2)} / ${result.editFindableMaxMs.toFixed(1)} ms |`);
	console.log('\n| query | kind | hits | p50 | p95 |\n| --- | --- | --- | --- | --- |');
	for (const q of result.perQuery) console.log(`| \`${q.text}\` | ${q.kind} | ${q.total} | ${q.p50.toFixed(2)} ms | ${q.p95.toFixed(1)} ms |`);
	mkdirSync(RESULTS_DIR, { recursive: true });
	const out = option('out') ?? path.join(RESULTS_DIR, 'search-browser.json');
	writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
	console.error(`[search browser] wrote ${out}`);
} finally {
	await browser.close();
}
