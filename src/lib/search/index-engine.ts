/**
 * The browser's search index: the records kept on this device, indexed with the shared
 * tokenizer (record.ts) and answered with the shared query plan (query.ts), so that a
 * query finds the same ids here as `matches` (and the server's SQL) would. Plain
 * TypeScript with no DOM: the search worker (search.worker.ts) runs it, and Node tests
 * and bench/search-engines.ts run it as it is.
 *
 * The engine is FlexSearch 0.8, chosen by measurement (README, "Search in the browser";
 * bench/search-engines.ts): each record is one "document" whose terms are exactly its
 * tokens and indexed prefixes (the same ones the server stores), split by our own
 * encoder so FlexSearch neither folds nor splits them again. FlexSearch intersects the
 * terms of one alternative; the plan's unions (alternatives), filters and prefixes
 * longer than the indexed ones are applied here, on small facts kept per record. Ranking
 * uses the same weights as `score` (match.ts), computed from postings of scoped terms,
 * and only the first `limit` hits are sorted out of the rest.
 */
import { Index } from 'flexsearch';
import type { CustomerRecord } from '../model/record.ts';
import type { Scalar } from '../model/schema.ts';
import type { ColumnFilter, SearchQuery, TokenMatch } from './query.ts';
import { recordSearchEntry } from './record.ts';
import { PREFIX_MAX } from './tokenize.ts';

/** Terms of a record as handed to FlexSearch: joined by a character no token contains. */
const TERM_SEPARATOR = '\u0001';
/** Marks an indexed prefix, so that the prefix `ab` (of `abc`) is never taken for the token `ab`. */
const PREFIX_MARK = '\u0002';
const prefixTerm = (prefix: string): string => PREFIX_MARK + prefix;
/** As many postings as a term can have: every search asks for all of them. */
const ALL = 1_000_000;
/** Which layout of the saved index this is; a saved index of another layout is rebuilt. */
export const INDEX_FORMAT = 1;

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
	/** Tokens longer than the indexed prefixes: a longer prefix is checked against these (the postings hold only PREFIX_MAX characters). */
	long: string[];
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

/** A saved index: FlexSearch's export plus the facts, as plain data (structured-clone and JSON safe). */
export interface SavedIndex {
	format: number;
	searchVersion: number;
	flex: Record<string, string>;
	facts: RecordFacts[];
	/** Record id → the stamp it was indexed at (see `stampOf` in search.worker.ts). */
	stamps: Record<string, string>;
}

const text = (value: Scalar | undefined): string | null => (typeof value === 'string' && value !== '' ? value : null);

function factsOf(record: CustomerRecord, tokens: readonly string[]): RecordFacts {
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
		long: tokens.filter((token) => token.length > PREFIX_MAX)
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
			switch (filter.op) {
				case '=':
					return v === filter.value;
				case '>':
					return v > filter.value;
				case '>=':
					return v >= filter.value;
				case '<':
					return v < filter.value;
				case '<=':
					return v <= filter.value;
			}
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

export class RecordSearchIndex {
	private flex = RecordSearchIndex.newFlex();
	/** FlexSearch ids are small numbers (less memory than strings); these map them to record ids. */
	private readonly numberOf = new Map<string, number>();
	private readonly facts: (RecordFacts | undefined)[] = [];
	private readonly stamps = new Map<string, string>();
	private nextNumber = 1;
	/** Postings looked up during one search, by term (a term is asked for several times: alternatives, scoring). */
	private postingsCache = new Map<string, Set<number>>();

	/**
	 * `encode` is ours: the terms are already the tokenizer's, so FlexSearch only splits
	 * them apart. `fastupdate` keeps, per record, where its postings are (an edit removes
	 * them without scanning the index); FlexSearch's import cannot restore that register,
	 * so a loaded index starts without it (an edit then scans: see README's table).
	 */
	private static newFlex(fastupdate = true): Index {
		return new Index({ tokenize: 'strict', resolution: 1, fastupdate, encode: (terms: string) => terms.split(TERM_SEPARATOR) });
	}

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

	/** Indexes a record whose tokens were already made (the benchmark makes them once for every engine). */
	putEntry(record: CustomerRecord, tokens: readonly string[], prefixes: readonly string[], stamp = ''): void {
		let n = this.numberOf.get(record.id);
		const terms = [...tokens, ...prefixes.map(prefixTerm)].join(TERM_SEPARATOR);
		if (n === undefined) {
			n = this.nextNumber++;
			this.numberOf.set(record.id, n);
			this.flex.add(n, terms);
		} else this.flex.update(n, terms);
		this.facts[n] = factsOf(record, tokens);
		this.stamps.set(record.id, stamp);
	}

	remove(id: string): void {
		const n = this.numberOf.get(id);
		if (n === undefined) return;
		this.flex.remove(n);
		this.numberOf.delete(id);
		this.facts[n] = undefined;
		this.stamps.delete(id);
	}

	private postings(term: string): Set<number> {
		let found = this.postingsCache.get(term);
		if (!found) {
			found = new Set(this.flex.search(term, { limit: ALL }) as number[]);
			this.postingsCache.set(term, found);
		}
		return found;
	}

	/** Records having every term (FlexSearch intersects them), smallest posting first. */
	private withAll(terms: readonly string[]): Set<number> {
		if (terms.length === 1) return this.postings(terms[0]);
		return new Set(this.flex.search(terms.join(TERM_SEPARATOR), { limit: ALL }) as number[]);
	}

	private alternativeHits(alt: TokenMatch): Set<number> {
		const terms = [...alt.all];
		if (alt.prefix) terms.push(prefixTerm(alt.prefix.indexed));
		if (terms.length === 0) return new Set();
		const found = this.withAll(terms);
		if (!alt.prefix?.exact) return found;
		const full = alt.prefix.full;
		const exact = new Set<number>();
		for (const n of found) if (this.facts[n]?.long.some((token) => token.startsWith(full))) exact.add(n);
		return exact;
	}

	/** The numbers of the records matching every clause and filter (as `matches` would say). */
	private matching(query: SearchQuery): Set<number> {
		let result: Set<number> | null = null;
		// Clauses narrowest first is not known before looking; each is computed and intersected in turn.
		for (const clause of query.clauses) {
			const union = new Set<number>();
			for (const alt of clause.anyOf) for (const n of this.alternativeHits(alt)) union.add(n);
			if (result === null) result = union;
			else {
				const next = new Set<number>();
				const [small, large] = union.size < result.size ? [union, result] : [result, union];
				for (const n of small) if (large.has(n)) next.add(n);
				result = next;
			}
			if (result.size === 0) return result;
		}
		if (result === null) {
			result = new Set<number>();
			for (const n of this.numberOf.values()) result.add(n);
		}
		if (query.filters.length === 0) return result;
		const filtered = new Set<number>();
		for (const n of result) {
			const facts = this.facts[n];
			if (facts && query.filters.every((filter) => passesFilter(filter, facts))) filtered.add(n);
		}
		return filtered;
	}

	/** The same points as match.ts's `score`, from the postings of scoped terms instead of each record's token set. */
	private scorer(query: SearchQuery): (n: number) => number {
		const clauses = query.clauses.map((clause) =>
			clause.anyOf.map((alt) => {
				const members = this.alternativeHits(alt);
				const weighted: [Set<number>, number][] = [];
				for (const token of alt.all) {
					if (token.includes(':')) continue;
					for (const [scope, weight] of SCOPE_WEIGHT) weighted.push([this.postings(`${scope}:${token}`), weight]);
				}
				let wholePrefix: Set<number> | null = null;
				if (alt.prefix && !alt.prefix.full.includes(':')) {
					wholePrefix = this.postings(alt.prefix.full);
					for (const [scope, weight] of SCOPE_WEIGHT) weighted.push([this.postings(prefixTerm(`${scope}:${alt.prefix.indexed}`)), weight]);
				}
				const base = alt.all.length;
				const prefixed = alt.prefix !== undefined && !alt.prefix.full.includes(':');
				return (n: number): number => {
					if (!members.has(n)) return 0;
					let points = base;
					if (prefixed) points += wholePrefix!.has(n) ? 2 : 1;
					for (const [set, weight] of weighted) if (set.has(n)) points += weight;
					return points;
				};
			})
		);
		return (n) => {
			let total = 1;
			for (const alts of clauses) {
				let best = 0;
				for (const points of alts) best = Math.max(best, points(n));
				total += best;
			}
			return total;
		};
	}

	search(query: SearchQuery, options: SearchOptions = {}): SearchResult {
		const limit = Math.max(0, Math.min(options.limit ?? 20, 500));
		this.postingsCache = new Map();
		try {
			const found = this.matching(query);
			const kept: number[] = [];
			for (const n of found) {
				const facts = this.facts[n];
				if (facts && (options.includeArchived || !facts.archived)) kept.push(n);
			}
			const hits = limit === 0 ? [] : this.best(kept, query, limit);
			const result: SearchResult = { total: kept.length, hits };
			if (options.allIds) result.ids = kept.map((n) => this.facts[n]!.id);
			return result;
		} finally {
			this.postingsCache = new Map();
		}
	}

	/** The `limit` best of `numbers`: scored, and only the best kept as they go (no sort of every hit). */
	private best(numbers: readonly number[], query: SearchQuery, limit: number): SearchHit[] {
		const points = this.scorer(query);
		const top: SearchHit[] = [];
		const before = (a: SearchHit, b: SearchHit) => b.score - a.score || a.name.localeCompare(b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
		for (const n of numbers) {
			const facts = this.facts[n]!;
			const score = points(n);
			if (top.length === limit && score < top[top.length - 1].score) continue;
			const hit: SearchHit = { id: facts.id, name: facts.name, company: facts.company, stage: facts.stage, archived: facts.archived, score };
			let at = top.length;
			while (at > 0 && before(hit, top[at - 1]) < 0) at--;
			if (at >= limit) continue;
			top.splice(at, 0, hit);
			if (top.length > limit) top.pop();
		}
		return top;
	}

	/** The index as plain data, to keep in IndexedDB and load on the next start. */
	save(searchVersion: number): SavedIndex {
		const flex: Record<string, string> = {};
		this.flex.export((key: string | number, data: string) => {
			flex[String(key)] = data;
		});
		const facts: RecordFacts[] = [];
		const stamps: Record<string, string> = {};
		for (const [id, n] of this.numberOf) {
			const f = this.facts[n];
			if (!f) continue;
			facts[n] = f;
			stamps[id] = this.stamps.get(id) ?? '';
		}
		return { format: INDEX_FORMAT, searchVersion, flex, facts, stamps };
	}

	/** An index loaded from `save`'s data; null when it was saved by another layout or tokenizer version. */
	static load(saved: SavedIndex, searchVersion: number): RecordSearchIndex | null {
		if (saved.format !== INDEX_FORMAT || saved.searchVersion !== searchVersion) return null;
		const index = new RecordSearchIndex();
		index.flex = RecordSearchIndex.newFlex(false);
		for (const [key, data] of Object.entries(saved.flex)) index.flex.import(key, data);
		saved.facts.forEach((facts, n) => {
			if (!facts) return;
			index.facts[n] = facts;
			index.numberOf.set(facts.id, n);
			index.stamps.set(facts.id, saved.stamps[facts.id] ?? '');
			index.nextNumber = Math.max(index.nextNumber, n + 1);
		});
		return index;
	}
}
