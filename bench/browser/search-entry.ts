/**
 * Runs inside headless Chromium (bundled by bench/search-browser.ts): builds Accord's
 * search index over the synthetic records, made and tokenized here one at a time (so the
 * heap holds the index, not the records), merges it into its base as the worker does once
 * a batch is indexed, times the fixed queries, and saves it to IndexedDB and loads it back
 * as the worker does at start.
 */
import { parseQuery, recordTokens } from '../../src/lib/search/index.ts';
import { joinSaved, RecordSearchIndex, splitSaved, type SavedIndexHead } from '../../src/lib/search/index-engine.ts';
import { prng, QUERIES, SEED, syntheticRecord } from '../search-data.ts';

let index: RecordSearchIndex | null = null;

function build(count: number): { buildMs: number; tokenizeMs: number; mergeMs: number } {
	const rng = prng(SEED);
	const built = new RecordSearchIndex();
	let tokenizeMs = 0;
	let indexMs = 0;
	for (let i = 0; i < count; i++) {
		const record = syntheticRecord(i, rng);
		const started = performance.now();
		const tokens = recordTokens(record);
		const tokenized = performance.now();
		// As the worker's `put` does: the index makes a record's prefixes only when it may have more than their cap.
		built.putEntry(record, tokens);
		tokenizeMs += tokenized - started;
		indexMs += performance.now() - tokenized;
	}
	const merging = performance.now();
	built.merge();
	const mergeMs = performance.now() - merging;
	index = built;
	return { buildMs: indexMs + mergeMs, tokenizeMs, mergeMs };
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

const done = <T>(request: IDBRequest<T>): Promise<T> =>
	new Promise((resolve, reject) => {
		request.onsuccess = () => resolve(request.result);
		request.onerror = () => reject(request.error);
	});

/** Saves the index to IndexedDB and loads it back, as the worker does (its own database, one key per local copy). */
async function saveAndLoad(): Promise<{ savedMB: number; saveMs: number; readMs: number; loadMs: number; loadedQueryMs: number }> {
	const saved = index!.save(1);
	const savedMB = (saved.terms.length * (/[^\u0000-\u00ff]/.test(saved.terms) ? 2 : 1) + saved.facts.length * 2 + saved.starts.byteLength + saved.offsets.byteLength + saved.postings.byteLength) / 2 ** 20;
	const open = indexedDB.open('accord-search-bench', 1);
	open.onupgradeneeded = () => open.result.createObjectStore('indexes');
	let db = await done(open);
	let started = performance.now();
	// In parts, as the worker saves it (one value over 127 MiB is refused).
	const { head, parts } = splitSaved(saved);
	const write = db.transaction('indexes', 'readwrite');
	const store = write.objectStore('indexes');
	parts.forEach((part, n) => store.put(part, `bench\u0000${String(n).padStart(6, '0')}`));
	store.put(head, 'bench');
	await new Promise<void>((resolve, reject) => {
		write.oncomplete = () => resolve();
		write.onerror = () => reject(write.error);
		write.onabort = () => reject(write.error);
	});
	const saveMs = performance.now() - started;
	db.close();
	// From opening the database to an index that answers: what a new tab's worker waits for.
	started = performance.now();
	db = await done(indexedDB.open('accord-search-bench', 1));
	const reading = db.transaction('indexes', 'readonly').objectStore('indexes');
	const [readHead, readParts] = await Promise.all([done(reading.get('bench')) as Promise<SavedIndexHead>, done(reading.getAll(IDBKeyRange.bound('bench\u0000', 'bench\u0001', false, true)))]);
	const readMs = performance.now() - started;
	const joined = joinSaved(readHead, readParts);
	const loaded = joined && RecordSearchIndex.load(joined, 1);
	if (!loaded) throw new Error('the saved index did not load');
	const loadMs = performance.now() - started;
	const parsed = parseQuery('张伟');
	const asking = performance.now();
	if (parsed.ok) loaded.search(parsed.query, { limit: 50 });
	const loadedQueryMs = performance.now() - asking;
	db.close();
	indexedDB.deleteDatabase('accord-search-bench');
	return { savedMB, saveMs, readMs, loadMs, loadedQueryMs };
}

/** One edit of a record already indexed, as the worker takes one from the page: how long until it is findable. */
function edit(rounds: number): number[] {
	const rng = prng(SEED + 1);
	const times: number[] = [];
	for (let i = 0; i < rounds; i++) {
		const record = syntheticRecord(i * 997, rng);
		const changed = { ...record, id: `00000000-0000-4000-8000-${String(i * 997).padStart(12, '0')}`, fields: { ...record.fields, name: `Edited${i} ${record.fields.name}` } };
		const started = performance.now();
		index!.put(changed);
		const parsed = parseQuery(`edited${i}`);
		if (!parsed.ok || index!.search(parsed.query, { limit: 8 }).total !== 1) throw new Error('the edit was not found');
		times.push(performance.now() - started);
	}
	return times;
}

(globalThis as unknown as { searchBench: unknown }).searchBench = { build, queries, saveAndLoad, edit };
