/**
 * The browser's search index: the records kept on this device, indexed with the shared
 * tokenizer (record.ts) and answered with the shared query plan (query.ts), so that a
 * query finds the same ids here as `matches` (and the server's SQL) would. Plain
 * TypeScript with no DOM: the search worker (search.worker.ts) runs it, and Node tests
 * and bench/search-engines.ts run it as it is.
 *
 * Chosen by measurement (README, "Search in the browser"; bench/search-engines.ts): an
 * inverted index of the tokenizer's own tokens (token → record numbers), with prefixes
 * answered from a sorted vocabulary of the tokens (every token starting with the prefix,
 * their postings united) instead of indexing every prefix as a term, which is what made
 * FlexSearch, MiniSearch and lunr too big or too slow at 100,000 records. An edit adds
 * the record again under a new number and leaves the old one as a tombstone (skipped,
 * and swept out when they grow), so no per-record list of terms is kept. Filters, ranking
 * (the weights of match.ts's `score`) and the first screen are computed here; only the
 * first `limit` hits are sorted.
 */
import type { CustomerRecord } from '../model/record.ts';
import type { Scalar } from '../model/schema.ts';
import { compares, type ColumnFilter, type SearchQuery, type TokenMatch } from './query.ts';
import { recordSearchEntry } from './record.ts';
import { isPureHan, MAX_RECORD_PREFIXES } from './tokenize.ts';

/** Which layout of the saved index this is; a saved index of another layout is rebuilt. */
export const INDEX_FORMAT = 2;
/** Tokens added since the vocabulary was last sorted are scanned one by one up to this many; past it, it is sorted again. */
const UNSORTED_MAX = 4_096;
/** Up to this many hits, the ranking is exactly match.ts's `score`; past it, see `scores`. */
export const EXACT_RANK_MAX = 2_000;

/** What is kept of a record beside its postings: the list row's columns the filters read, what a hit shows, and long tokens. */
export interface RecordFacts {
	id: string;
	name: string;
	company: string | null;
	stage: string | null;
	owner: string | null;
	currency: string | null;
	country: string | null;
	value: number | null;
	tags: string[];
	archived: boolean;
	/**
	 * The record's indexed prefixes, kept only when it has more than the tokenizer indexes
	 * (MAX_RECORD_PREFIXES): `matches` knows only those, so a prefix hit is checked against them.
	 */
	cappedPrefixes?: string[];
}

export interface SearchHit {
	id: string;
	name: string;
	company: string | null;
	stage: string | null;
	archived: boolean;
	score: number;
}

export interface SearchResult {
	/** How many records match (archived ones included: the caller decides). */
	total: number;
	/** Every matching id, unordered, when asked for (`allIds`); the list needs them to sort and page. */
	ids?: string[];
	/** The best `limit` hits, best first (ties by name, then id). */
	hits: SearchHit[];
}

export interface SearchOptions {
	limit?: number;
	includeArchived?: boolean;
	allIds?: boolean;
}

/** A saved index, as plain data (structured-clone and JSON safe). */
export interface SavedIndex {
	format: number;
	searchVersion: number;
	/** Every token and its record numbers. */
	terms: string[];
	postings: number[][];
	/** By record number (null: a tombstone or a hole). */
	facts: (RecordFacts | null)[];
	/** Record id → the stamp it was indexed at (see `stampOf` in search.worker.ts). */
	stamps: Record<string, string>;
}

const text = (value: Scalar | undefined): string | null => (typeof value === 'string' && value !== '' ? value : null);

function factsOf(record: CustomerRecord, prefixes: readonly string[]): RecordFacts {
	const f = record.fields;
	return {
		id: record.id,
		name: text(f.name) ?? '',
		company: text(f.company),
		stage: text(f.stage),
		owner: text(f.owner),
		currency: text(f.currency),
		country: text(f.country),
		value: typeof f.value === 'number' ? f.value : null,
		tags: [...record.tags],
		archived: record.meta.archived === true,
		...(prefixes.length >= MAX_RECORD_PREFIXES ? { cappedPrefixes: [...prefixes] } : {})
	};
}

/** The same comparisons as match.ts's, on the kept facts. */
function passesFilter(filter: ColumnFilter, facts: RecordFacts): boolean {
	switch (filter.field) {
		case 'stage':
		case 'owner':
		case 'currency':
		case 'country':
			return facts[filter.field] === filter.value;
		case 'tag':
			return facts.tags.includes(filter.value);
		case 'value': {
			const v = facts.value;
			if (v === null) return false;
			return compares(v, filter.op, filter.value);
		}
	}
}

/** Weight of a hit by where it is, as in match.ts's `score`. */
const SCOPE_WEIGHT: [string, number][] = [
	['name', 8],
	['company', 4],
	['contact', 2],
	['email', 2],
	['phone', 2]
];


/** Whether the tokenizer indexes prefixes of a token: not of a Han one (after any `scope:`), as tokenPrefixes says. */
function hasPrefixes(token: string): boolean {
	const rest = token.slice(token.indexOf(':') + 1);
	return rest.length > 0 && !isPureHan(rest);
}

const NONE: readonly number[] = [];

export class RecordSearchIndex {
	/** Token → the numbers of the records having it (tombstones included until swept). */
	private readonly postings = new Map<string, number[]>();
	/** Tokens with prefixes, sorted (for prefix ranges), and those added since. */
	private sorted: string[] = [];
	private unsorted: string[] = [];
	/** Record numbers are small integers (less memory than ids); these map them to record ids. */
	private readonly numberOf = new Map<string, number>();
	private facts: (RecordFacts | undefined)[] = [];
	private readonly stamps = new Map<string, string>();
	private nextNumber = 1;
	private dead = 0;
	/** Per search: a mark per record number, and the last mark handed out. */
	private marks = new Uint32Array(0);
	private mark = 0;

	get size(): number {
		return this.numberOf.size;
	}

	has(id: string): boolean {
		return this.numberOf.has(id);
	}

	/** The stamp a record was indexed with (null when it is not indexed). */
	stampOf(id: string): string | null {
		return this.stamps.get(id) ?? null;
	}

	ids(): string[] {
		return [...this.numberOf.keys()];
	}

	/** Indexes a record, replacing what was indexed for it before. */
	put(record: CustomerRecord, stamp = ''): void {
		const entry = recordSearchEntry(record);
		this.putEntry(record, entry.tokens, entry.prefixes, stamp);
	}

	/** Indexes a record whose tokens (and the prefixes the tokenizer indexes for them) were already made. */
	putEntry(record: CustomerRecord, tokens: readonly string[], prefixes: readonly string[], stamp = ''): void {
		this.tombstone(record.id);
		const n = this.nextNumber++;
		this.numberOf.set(record.id, n);
		this.facts[n] = factsOf(record, prefixes);
		this.stamps.set(record.id, stamp);
		for (const token of tokens) {
			const list = this.postings.get(token);
			if (list) list.push(n);
			else {
				this.postings.set(token, [n]);
				if (hasPrefixes(token)) this.unsorted.push(token);
			}
		}
	}

	remove(id: string): void {
		this.tombstone(id);
		this.stamps.delete(id);
	}

	private tombstone(id: string): void {
		const n = this.numberOf.get(id);
		if (n === undefined) return;
		this.numberOf.delete(id);
		this.facts[n] = undefined;
		this.dead++;
		if (this.dead > 10_000 && this.dead > this.numberOf.size / 4) this.sweep();
	}

	/** Takes tombstones out of the postings (and tokens left with none out of the vocabulary). */
	private sweep(): void {
		for (const [token, list] of this.postings) {
			const alive = list.filter((n) => this.facts[n] !== undefined);
			if (alive.length === 0) this.postings.delete(token);
			else if (alive.length !== list.length) this.postings.set(token, alive);
		}
		this.sorted = [...this.postings.keys()].filter(hasPrefixes).sort();
		this.unsorted = [];
		this.dead = 0;
	}

	private newMark(): number {
		if (this.marks.length < this.nextNumber) this.marks = new Uint32Array(Math.max(this.nextNumber * 2, 1024));
		if (this.mark === 0xffffffff) {
			this.marks.fill(0);
			this.mark = 0;
		}
		return ++this.mark;
	}

	/** Every token (with prefixes) starting with `prefix`, in the same scope: the plan's prefix (or, longer, whole) match. */
	private tokensStartingWith(prefix: string): string[] {
		if (this.unsorted.length > UNSORTED_MAX) {
			this.sorted = [...this.sorted, ...this.unsorted].sort();
			this.unsorted = [];
		}
		const colon = prefix.indexOf(':');
		const sameScope = (token: string) => token.startsWith(prefix) && token.indexOf(':') === colon;
		const found: string[] = [];
		let low = 0;
		let high = this.sorted.length;
		while (low < high) {
			const mid = (low + high) >>> 1;
			if (this.sorted[mid] < prefix) low = mid + 1;
			else high = mid;
		}
		for (let i = low; i < this.sorted.length && this.sorted[i].startsWith(prefix); i++) if (sameScope(this.sorted[i])) found.push(this.sorted[i]);
		for (const token of this.unsorted) if (sameScope(token)) found.push(token);
		return found;
	}

	/** The live records having a token that starts with `prefix` (each once). */
	private withPrefix(prefix: string, indexed: string): number[] {
		const stamp = this.newMark();
		const out: number[] = [];
		for (const token of this.tokensStartingWith(prefix)) {
			for (const n of this.postings.get(token)!) {
				if (this.marks[n] === stamp) continue;
				this.marks[n] = stamp;
				const facts = this.facts[n];
				if (!facts) continue;
				// A record with more prefixes than the tokenizer indexes matches only on those it indexes.
				if (facts.cappedPrefixes && !facts.cappedPrefixes.includes(indexed)) continue;
				out.push(n);
			}
		}
		return out;
	}

	/** `members` less those not in `list`. */
	private intersect(members: readonly number[], list: readonly number[]): number[] {
		const stamp = this.newMark();
		for (const n of list) this.marks[n] = stamp;
		return members.filter((n) => this.marks[n] === stamp);
	}

	/** The live records matching one alternative of a clause: every token, and the prefix. */
	private alternativeHits(alt: TokenMatch, cache: Map<TokenMatch, number[]>): number[] {
		const cached = cache.get(alt);
		if (cached) return cached;
		const lists: (readonly number[])[] = alt.all.map((token) => this.postings.get(token) ?? NONE);
		let found: number[] | null = null;
		if (alt.prefix) found = this.withPrefix(alt.prefix.exact ? alt.prefix.full : alt.prefix.indexed, alt.prefix.indexed);
		lists.sort((a, b) => a.length - b.length);
		for (const list of lists) {
			found = found === null ? list.filter((n) => this.facts[n] !== undefined) : this.intersect(found, list);
			if (found.length === 0) break;
		}
		const result = found ?? [];
		cache.set(alt, result);
		return result;
	}

	/** The numbers of the live records matching every clause and filter (as `matches` would say). */
	private matching(query: SearchQuery, cache: Map<TokenMatch, number[]>): number[] {
		let result: number[] | null = null;
		for (const clause of query.clauses) {
			let union: number[];
			if (clause.anyOf.length === 1) union = this.alternativeHits(clause.anyOf[0], cache);
			else {
				// Each alternative first: finding one uses the marks too.
				const each = clause.anyOf.map((alt) => this.alternativeHits(alt, cache));
				const stamp = this.newMark();
				union = [];
				for (const hits of each) {
					for (const n of hits) {
						if (this.marks[n] === stamp) continue;
						this.marks[n] = stamp;
						union.push(n);
					}
				}
			}
			result = result === null ? union : this.intersect(result, union);
			if (result.length === 0) return result;
		}
		const found: number[] = result ?? [...this.numberOf.values()];
		if (query.filters.length === 0) return found;
		return found.filter((n) => {
			const facts = this.facts[n];
			return facts !== undefined && query.filters.every((filter) => passesFilter(filter, facts));
		});
	}

	/** The same points as match.ts's `score` for each of `hits`, added in one pass over each posting involved. */
	private scores(query: SearchQuery, hits: readonly number[], cache: Map<TokenMatch, number[]>): Float32Array {
		const size = this.nextNumber;
		const total = new Float32Array(size);
		for (const n of hits) total[n] = 1;
		// Past EXACT_RANK_MAX hits the first screen is ranked by the name and company weights alone: the
		// contact, email and phone postings of a broad term cost more than they change on the first screen.
		const weights = hits.length > EXACT_RANK_MAX ? SCOPE_WEIGHT.slice(0, 2) : SCOPE_WEIGHT;
		for (const clause of query.clauses) {
			const best = new Float32Array(size);
			for (const alt of clause.anyOf) {
				const points = new Float32Array(size);
				const prefixed = alt.prefix !== undefined && !alt.prefix.full.includes(':');
				for (const n of this.alternativeHits(alt, cache)) points[n] = alt.all.length + (prefixed ? 1 : 0);
				const add = (members: readonly number[], weight: number) => {
					for (const n of members) if (points[n] > 0) points[n] += weight;
				};
				for (const token of alt.all) {
					if (token.includes(':')) continue;
					for (const [scope, weight] of weights) add(this.postings.get(`${scope}:${token}`) ?? NONE, weight);
				}
				if (prefixed) {
					// A whole word counts more than a prefix of one.
					add(this.postings.get(alt.prefix!.full) ?? NONE, 1);
					for (const [scope, weight] of weights) {
						const scoped = `${scope}:${alt.prefix!.indexed}`;
						add(this.withPrefix(scoped, scoped), weight);
					}
				}
				for (const n of hits) if (points[n] > best[n]) best[n] = points[n];
			}
			for (const n of hits) total[n] += best[n];
		}
		return total;
	}

	search(query: SearchQuery, options: SearchOptions = {}): SearchResult {
		const limit = Math.max(0, Math.min(options.limit ?? 20, 500));
		const cache = new Map<TokenMatch, number[]>();
		const kept = this.matching(query, cache).filter((n) => {
			const facts = this.facts[n];
			return facts !== undefined && (options.includeArchived || !facts.archived);
		});
		const hits = limit === 0 || kept.length === 0 ? [] : this.best(kept, this.scores(query, kept, cache), limit);
		const result: SearchResult = { total: kept.length, hits };
		if (options.allIds) result.ids = kept.map((n) => this.facts[n]!.id);
		return result;
	}

	/** The `limit` best of `numbers`, best first: only those that beat the last kept are placed (no sort of every hit). */
	private best(numbers: readonly number[], points: Float32Array, limit: number): SearchHit[] {
		const top: SearchHit[] = [];
		// Ties by name in code-unit order, not localeCompare: collation costs a microsecond a call, and broad queries tie thousands of times.
		const before = (a: SearchHit, b: SearchHit) => b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
		for (const n of numbers) {
			const score = points[n];
			if (top.length === limit && score < top[top.length - 1].score) continue;
			const facts = this.facts[n]!;
			const hit: SearchHit = { id: facts.id, name: facts.name, company: facts.company, stage: facts.stage, archived: facts.archived, score };
			let at = top.length;
			while (at > 0 && before(hit, top[at - 1]) < 0) at--;
			if (at >= limit) continue;
			top.splice(at, 0, hit);
			if (top.length > limit) top.pop();
		}
		return top;
	}

	/** The index as plain data (tombstones left out), to keep in IndexedDB and load on the next start. */
	save(searchVersion: number): SavedIndex {
		const terms: string[] = [];
		const postings: number[][] = [];
		for (const [token, list] of this.postings) {
			const alive = list.filter((n) => this.facts[n] !== undefined);
			if (alive.length === 0) continue;
			terms.push(token);
			postings.push(alive);
		}
		const stamps: Record<string, string> = {};
		for (const id of this.numberOf.keys()) stamps[id] = this.stamps.get(id) ?? '';
		return { format: INDEX_FORMAT, searchVersion, terms, postings, facts: Array.from(this.facts, (f) => f ?? null), stamps };
	}

	/** An index loaded from `save`'s data; null when it was saved by another layout or tokenizer version. */
	static load(saved: SavedIndex, searchVersion: number): RecordSearchIndex | null {
		if (saved.format !== INDEX_FORMAT || saved.searchVersion !== searchVersion) return null;
		const index = new RecordSearchIndex();
		saved.terms.forEach((token, i) => index.postings.set(token, saved.postings[i]));
		index.sorted = saved.terms.filter(hasPrefixes).sort();
		saved.facts.forEach((facts, n) => {
			if (!facts) return;
			index.facts[n] = facts;
			index.numberOf.set(facts.id, n);
			index.stamps.set(facts.id, saved.stamps[facts.id] ?? '');
		});
		index.nextNumber = Math.max(1, saved.facts.length);
		return index;
	}
}
