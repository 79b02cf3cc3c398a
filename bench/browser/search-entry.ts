/**
 * Runs inside headless Chromium (bundled by bench/search-browser.ts): builds Accord's
 * search index over the synthetic records, made and tokenized here one at a time (so the
 * heap holds the index, not the records), and times the fixed queries.
 */
import { parseQuery, recordSearchEntry } from '../../src/lib/search/index.ts';
import { RecordSearchIndex } from '../../src/lib/search/index-engine.ts';
import { prng, QUERIES, SEED, syntheticRecord } from '../search-data.ts';

let index: RecordSearchIndex | null = null;

function build(count: number): { buildMs: number; tokenizeMs: number } {
	const rng = prng(SEED);
	const built = new RecordSearchIndex();
	let tokenizeMs = 0;
	let indexMs = 0;
	for (let i = 0; i < count; i++) {
		const record = syntheticRecord(i, rng);
		const started = performance.now();
		const entry = recordSearchEntry(record);
		const tokenized = performance.now();
		built.putEntry(record, entry.tokens, entry.prefixes);
		tokenizeMs += tokenized - started;
		indexMs += performance.now() - tokenized;
	}
	index = built;
	return { buildMs: indexMs, tokenizeMs };
}

function queries(rounds: number): { text: string; kind: string; times: number[]; total: number }[] {
	if (!index) throw new Error('build first');
	return QUERIES.map(({ text, kind }) => {
		const parsed = parseQuery(text);
		if (!parsed.ok) throw new Error(parsed.message);
		const total = index!.search(parsed.query, { limit: 50 }).total;
		const times: number[] = [];
		for (let round = 0; round < rounds; round++) {
			const started = performance.now();
			index!.search(parsed.query, { limit: 50 });
			times.push(performance.now() - started);
		}
		return { text, kind, times, total };
	});
}

function saveAndLoad(): { serializedMB: number; cloneLoadMs: number } {
	const saved = index!.save(1);
	const started = performance.now();
	// What IndexedDB does with the saved index: a structured clone; then the index is rebuilt from it.
	const copy = structuredClone(saved);
	RecordSearchIndex.load(copy, 1);
	const cloneLoadMs = performance.now() - started;
	return { serializedMB: new Blob([JSON.stringify(saved)]).size / 2 ** 20, cloneLoadMs };
}

(globalThis as unknown as { searchBench: unknown }).searchBench = { build, queries, saveAndLoad };
