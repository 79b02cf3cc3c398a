/**
 * The browser's search index: the records kept on this device, indexed with the shared
 * tokenizer (record.ts) and answered with the shared query plan (query.ts), so that a
 * query finds the same ids here as `matches` (and the server's SQL) would. Plain
 * TypeScript with no DOM: the search worker (search.worker.ts) runs it, and Node tests
 * and bench/search-engines.ts run it as it is.
 *
 * Chosen by measurement (README, "Choosing the engine"; bench/search-engines.ts): an
 * inverted index of the tokenizer's own tokens (token → record numbers) rather than every
 * prefix as a term, which is what made FlexSearch, MiniSearch and lunr too big or too slow
 * at 100,000 records. It is kept in two parts:
 *
 * - the base: every token, sorted, in one string (each ended by U+0000; token i starts at
 *   starts[i]), and their record numbers one after the other in one Uint32Array (token
 *   i's from offsets[i] to offsets[i + 1]). A token is found by binary search, and the
 *   tokens starting with a prefix are one run, so their numbers are one slice of memory:
 *   a prefix matching 40,000 tokens costs a pass over that slice, not 40,000 look-ups.
 *   One string rather than 1.4 million (at 100,000 records) keeps the heap's object count,
 *   and with it every garbage collection's work, small. The base is also the saved form:
 *   IndexedDB's structured clone copies a string and typed arrays as blocks, and loading
 *   them makes no object per token;
 * - the delta: what was indexed since the base was made: a Map from token to a small
 *   number, and each token's record numbers chained through one typed array (a first
 *   build puts every record here: 13 million postings at 100,000 records, which as a
 *   million growing arrays made garbage collection the largest share of the build). An
 *   edit adds the record again under a new number and marks the old one dead, so no
 *   per-record list of terms is kept. When the delta (or the dead) grows past a share of
 *   the base, both are merged into a new base in one pass (each token's numbers copied
 *   once, the dead left out and the live renumbered in order).
 *
 * Only the base is saved (`save`), and only when a merge made a new one: an edit does not
 * rewrite a hundred megabytes. A record changed since is in the saved base with its old
 * stamp, so the worker, comparing stamps with the local rows after loading, reads it again.
 *
 * Filters and ranking (the weights of match.ts's `score`, exactly, for every hit) are
 * computed here over the hits; only the first `limit` are ordered (no sort of every hit).
 * The conditions (dates, custom numbers, idleness) are decided by match.ts's
 * `conditionHolds` over the facts kept per record, as the offline list decides them.
 */
import type { CustomerRecord } from '../model/record.ts';
import type { Scalar } from '../model/schema.ts';
import { compares, parseQuery, type ColumnFilter, type SearchQuery, type TokenMatch } from './query.ts';
import type { FieldDefinition } from '../model/schema.ts';
import { conditionFacts, conditionHolds, type ConditionFacts } from './match.ts';
import { mayCapPrefixes, recordTokens, tokenPrefixes } from './record.ts';
import { isPureHan, MAX_RECORD_PREFIXES } from './tokenize.ts';

/** Which layout of the saved index this is; a saved index of another layout is rebuilt. */
export const INDEX_FORMAT = 4;
/**
 * The most one IndexedDB value of the saved index holds: Chromium refuses a value over
 * 133,169,152 bytes ("The serialized keys and/or value are too large"), and the index of
 * 100,000 records is about 170 MB, so it is saved in parts (splitSaved) of at most this.
 */
export const SAVED_PART_BYTES = 32 * 2 ** 20;
/** Delta tokens added since they were last sorted are scanned one by one up to this many; past it, they are sorted again. */
const UNSORTED_MAX = 4_096;
/**
 * The delta is merged into a base once its postings pass this many and the base's own (so
 * merges double the base, and cost twice the index in all). An index built from nothing is
 * merged once, by its builder (the worker, when the local copy is indexed), not on the way.
 */
const DELTA_MIN = 50_000;
/** Dead records are dropped (by a merge) once they pass this many, and a quarter of the live ones. */
const DEAD_MIN = 10_000;
/** Ends each token in the vocabulary string: no token has it (tokens are words, emails, numbers). */
const TERM_END = '\u0000';

/**
 * What is kept of a record beside its postings: the list row's columns the filters read,
 * what the conditions read (ConditionFacts: times and comparable values), what a hit
 * shows, and long tokens.
 */
export interface RecordFacts extends ConditionFacts {
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
	/** The stamp it was indexed at (see `stampOf` in search.worker.ts). */
	stamp: string;
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
	/** The present, for `idle` (milliseconds; now when absent). */
	now?: number;
}

/**
 * A saved index: the base (see the file's comment) as typed arrays and strings, which
 * IndexedDB's structured clone copies as blocks. Record numbers run from 1 to the number
 * of records, in the order of `facts`.
 */
export interface SavedIndex {
	format: number;
	searchVersion: number;
	/** Every token, sorted (code-unit order), each followed by U+0000. */
	terms: string;
	/** Where token i starts in `terms` (and, last, the length of `terms`). */
	starts: Uint32Array;
	/** Token i's record numbers are postings[offsets[i] .. offsets[i + 1]), ascending. */
	offsets: Uint32Array;
	postings: Uint32Array;
	/** JSON of the records' facts (RecordFacts[]), record number n at n - 1. */
	facts: string;
}

const text = (value: Scalar | undefined): string | null => (typeof value === 'string' && value !== '' ? value : null);

function factsOf(record: CustomerRecord, capped: readonly string[] | null, stamp: string, updatedAt: string | null): RecordFacts {
	const f = record.fields;
	return {
		...conditionFacts(record, updatedAt),
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
		stamp,
		...(capped ? { cappedPrefixes: [...capped] } : {})
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

/** The first code unit from which a character may be Han (CJK radicals onwards; surrogates included). */
const FIRST_HAN_UNIT = 0x2e80;

/**
 * Whether the tokenizer indexes prefixes of a token whose part after `scope:` starts at
 * `at`: not of a Han one, as tokenPrefixes says (the regular expression only for a token
 * that starts like one).
 */
function hasPrefixes(token: string, at: number): boolean {
	if (token.length <= at) return false;
	return token.charCodeAt(at) < FIRST_HAN_UNIT || !isPureHan(token.slice(at));
}

/** The first index of `sorted` whose entry is not below `key`. */
function lowerBoundOf(sorted: readonly string[], key: string, low = 0): number {
	let high = sorted.length;
	while (low < high) {
		const mid = (low + high) >>> 1;
		if (sorted[mid] < key) low = mid + 1;
		else high = mid;
	}
	return low;
}

/** Two ascending arrays as one ascending array, in one pass. */
function mergeSorted(a: readonly string[], b: readonly string[]): string[] {
	const out = new Array<string>(a.length + b.length);
	let i = 0;
	let j = 0;
	let k = 0;
	while (i < a.length && j < b.length) out[k++] = b[j] < a[i] ? b[j++] : a[i++];
	while (i < a.length) out[k++] = a[i++];
	while (j < b.length) out[k++] = b[j++];
	return out;
}

/** Record flags, by number. */
const LIVE = 1;
const ARCHIVED = 2;
/** Has cappedPrefixes: a prefix hit is checked against them. */
const CAPPED = 4;

const EMPTY = new Uint32Array(0);

/** A copy of `array` with room for `size` entries (the rest zero). */
function grown(array: Uint32Array, size: number) {
	const bigger = new Uint32Array(size);
	bigger.set(array);
	return bigger;
}

export class RecordSearchIndex {
	// ---- the base (immutable between merges)
	private vocabulary = '';
	private starts: Uint32Array = new Uint32Array(1);
	private offsets: Uint32Array = new Uint32Array(1);
	private postings: Uint32Array = EMPTY;
	// ---- the delta: tokens numbered in the order first seen; each token's record numbers a
	// chain of slots in one typed array, so a delta of a million tokens is a Map of small
	// integers and two typed arrays, not a million growing arrays for every garbage
	// collection to walk (and their growth to copy). What is read together is side by side:
	// one cache line per token and per slot, not one per array.
	private readonly delta = new Map<string, number>();
	private deltaTerms: string[] = [];
	/** By delta token t: its first slot (0: none) at 3t, its last at 3t + 1, how many at 3t + 2. */
	private deltaTokens = new Uint32Array(3 * 256);
	/** By slot s (from 1): the record number at 2s, the same token's next slot at 2s + 1 (0: the last). */
	private deltaSlots = new Uint32Array(2 * 1024);
	/** Slots used, which is the postings in the delta. */
	private deltaPostings = 0;
	/** Delta tokens with prefixes, sorted (for prefix ranges), and those added since. */
	private deltaSorted: string[] = [];
	private deltaUnsorted: string[] = [];
	// ---- the records: numbers are small integers (less memory than ids, and typed arrays by number)
	private readonly numberOf = new Map<string, number>();
	private facts: (RecordFacts | undefined)[] = [undefined];
	/** The facts of the base's records as the last merge left them (dead ones included), for `save`. */
	private baseFacts: RecordFacts[] = [];
	/** How many bases this index has had: the worker saves when it changed. */
	private baseVersion = 0;
	private flags = new Uint8Array(1024);
	private nextNumber = 1;
	private dead = 0;
	/** Per search: a mark per record number, and the last mark handed out. */
	private marks = new Uint32Array(0);
	private mark = 0;
	/** Per search: points by record number (reused: a 100,000-record array per search is garbage to collect). */
	private scratch: Float32Array[] = [];

	get size(): number {
		return this.numberOf.size;
	}

	has(id: string): boolean {
		return this.numberOf.has(id);
	}

	/** The stamp a record was indexed with (null when it is not indexed). */
	stampOf(id: string): string | null {
		const n = this.numberOf.get(id);
		return n === undefined ? null : (this.facts[n]?.stamp ?? null);
	}

	ids(): string[] {
		return [...this.numberOf.keys()];
	}

	/** Postings waiting in the delta. */
	get pending(): number {
		return this.deltaPostings;
	}

	/** Which base `save` would give (a new one after each merge). */
	get version(): number {
		return this.baseVersion;
	}

	/**
	 * Merges when the delta is big enough to slow searches (an eighth of the base, or any
	 * size with no base yet): what the worker calls once a batch of records is indexed.
	 */
	settle(): void {
		if (this.deltaPostings > 0 && (this.postings.length === 0 || this.deltaPostings > this.postings.length / 8)) this.merge();
	}

	/**
	 * Indexes a record, replacing what was indexed for it before. `updatedAt` is its list
	 * row's time (what `updated>` compares; the document does not hold it).
	 */
	put(record: CustomerRecord, stamp = '', updatedAt: string | null = null): void {
		this.putEntry(record, recordTokens(record), undefined, stamp, updatedAt);
	}

	/**
	 * Indexes a record whose tokens were already made. `prefixes`, the ones the tokenizer
	 * indexes for them, only say whether the record has more than MAX_RECORD_PREFIXES; when
	 * not given they are made only for a record that may (mayCapPrefixes).
	 */
	putEntry(record: CustomerRecord, tokens: readonly string[], prefixes?: readonly string[], stamp = '', updatedAt: string | null = null): void {
		this.tombstone(record.id);
		const n = this.nextNumber++;
		this.numberOf.set(record.id, n);
		const all = prefixes ?? (mayCapPrefixes(tokens) ? tokenPrefixes(tokens) : null);
		const facts = factsOf(record, all && all.length >= MAX_RECORD_PREFIXES ? all : null, stamp, updatedAt);
		this.facts[n] = facts;
		if (this.flags.length <= n) {
			const grown = new Uint8Array(Math.max(1024, n * 2));
			grown.set(this.flags);
			this.flags = grown;
		}
		this.flags[n] = LIVE | (facts.archived ? ARCHIVED : 0) | (facts.cappedPrefixes ? CAPPED : 0);
		if (this.deltaSlots.length < 2 * (this.deltaPostings + tokens.length + 1)) this.deltaSlots = grown(this.deltaSlots, Math.max(this.deltaSlots.length * 2, 2 * (this.deltaPostings + tokens.length + 1)));
		const slots = this.deltaSlots;
		let slot = this.deltaPostings;
		for (const token of tokens) {
			let t = this.delta.get(token);
			if (t === undefined) {
				t = this.deltaTerms.length;
				this.delta.set(token, t);
				this.deltaTerms.push(token);
				if (this.deltaTokens.length < 3 * (t + 1)) this.deltaTokens = grown(this.deltaTokens, 3 * 2 * (t + 1));
				if (hasPrefixes(token, token.indexOf(':') + 1)) this.deltaUnsorted.push(token);
			}
			slot++;
			slots[2 * slot] = n;
			slots[2 * slot + 1] = 0;
			const info = this.deltaTokens;
			if (info[3 * t + 2] === 0) info[3 * t] = slot;
			else slots[2 * info[3 * t + 1] + 1] = slot;
			info[3 * t + 1] = slot;
			info[3 * t + 2]++;
		}
		this.deltaPostings = slot;
		if (this.postings.length > 0 && this.deltaPostings > DELTA_MIN && this.deltaPostings > this.postings.length) this.merge();
	}

	remove(id: string): void {
		this.tombstone(id);
	}

	/** Sets the list row's time of an indexed record (what `updated>` compares) without indexing it again. */
	setUpdatedAt(id: string, updatedAt: string): void {
		const n = this.numberOf.get(id);
		const facts = n === undefined ? undefined : this.facts[n];
		if (!facts) return;
		const at = Date.parse(updatedAt);
		facts.updatedAt = Number.isNaN(at) ? null : at;
	}

	private tombstone(id: string): void {
		const n = this.numberOf.get(id);
		if (n === undefined) return;
		this.numberOf.delete(id);
		this.facts[n] = undefined;
		this.flags[n] = 0;
		this.dead++;
		if (this.dead > DEAD_MIN && this.dead > this.numberOf.size / 4) this.merge();
	}

	/**
	 * Merges the delta into the base: every token in order, its live numbers renumbered
	 * (keeping their order, so each list stays ascending), dead records left out. The
	 * worker calls it before saving; puts and removals call it when the delta or the dead
	 * grow past their share.
	 */
	merge(): void {
		if (this.delta.size === 0 && this.dead === 0) return;
		const renumber = new Uint32Array(this.nextNumber);
		const facts: (RecordFacts | undefined)[] = [undefined];
		for (let n = 1; n < this.nextNumber; n++) {
			const kept = this.facts[n];
			if (!kept) continue;
			renumber[n] = facts.length;
			facts.push(kept);
		}
		// Sorted in place: the delta is emptied below, and its tokens' numbers are in the Map.
		const deltaTerms = this.deltaTerms.sort();
		const oldCount = this.termCount;
		const most = oldCount + deltaTerms.length;
		// The new vocabulary in pieces, joined by the tokens' end: runs of kept base tokens (one slice each, their ends inside included) and delta tokens.
		const pieces: string[] = [];
		let length = 0;
		let runFrom = -1;
		const endRun = (i: number) => {
			if (runFrom < 0) return;
			pieces.push(this.vocabulary.slice(this.starts[runFrom], this.starts[i] - 1));
			runFrom = -1;
		};
		const starts = new Uint32Array(most + 1);
		const offsets = new Uint32Array(most + 1);
		const postings = new Uint32Array(this.postings.length + this.deltaPostings);
		let count = 0;
		let at = 0;
		let i = 0;
		let j = 0;
		while (i < oldCount || j < deltaTerms.length) {
			const order = i >= oldCount ? 1 : j >= deltaTerms.length ? -1 : this.compareTerm(i, deltaTerms[j]);
			const start = at;
			if (order <= 0) {
				for (let k = this.offsets[i], end = this.offsets[i + 1]; k < end; k++) {
					const n = renumber[this.postings[k]];
					if (n !== 0) postings[at++] = n;
				}
			}
			if (order >= 0) {
				const slots = this.deltaSlots;
				for (let slot = this.deltaTokens[3 * this.delta.get(deltaTerms[j])!]; slot !== 0; slot = slots[2 * slot + 1]) {
					const n = renumber[slots[2 * slot]];
					if (n !== 0) postings[at++] = n;
				}
			}
			const kept = at > start;
			if (order < 0 && kept) {
				if (runFrom < 0) runFrom = i;
			} else endRun(i);
			if (kept) {
				starts[count] = length;
				length += order < 0 ? this.starts[i + 1] - this.starts[i] : deltaTerms[j].length + 1;
				if (order >= 0) pieces.push(deltaTerms[j]);
				count++;
				offsets[count] = at;
			}
			if (order <= 0) i++;
			if (order >= 0) j++;
		}
		endRun(i);
		starts[count] = length;
		this.vocabulary = count === 0 ? '' : pieces.join(TERM_END) + TERM_END;
		// Copied only when dead records or tokens left room at the end (a copy of 50 MB is garbage to collect).
		this.starts = count === most ? starts : starts.slice(0, count + 1);
		this.offsets = count === most ? offsets : offsets.slice(0, count + 1);
		this.postings = at === postings.length ? postings : postings.slice(0, at);
		this.clearDelta();
		this.facts = facts;
		this.baseFacts = facts.slice(1) as RecordFacts[];
		this.baseVersion++;
		this.numberOf.clear();
		this.flags = new Uint8Array(Math.max(1024, facts.length * 2));
		for (let n = 1; n < facts.length; n++) this.adopt(n, facts[n]!);
		this.nextNumber = facts.length;
		this.dead = 0;
		this.marks = new Uint32Array(0);
		this.mark = 0;
		this.scratch = [];
	}

	private clearDelta(): void {
		this.delta.clear();
		this.deltaTerms = [];
		this.deltaTokens = new Uint32Array(3 * 256);
		this.deltaSlots = new Uint32Array(2 * 1024);
		this.deltaPostings = 0;
		this.deltaSorted = [];
		this.deltaUnsorted = [];
	}

	/** Delta token t's record numbers, ascending (they were put in that order), from `out[at]`; where they end. */
	private deltaInto(t: number, out: Uint32Array, at: number): number {
		const slots = this.deltaSlots;
		for (let slot = this.deltaTokens[3 * t]; slot !== 0; slot = slots[2 * slot + 1]) out[at++] = slots[2 * slot];
		return at;
	}

	private adopt(n: number, facts: RecordFacts): void {
		this.numberOf.set(facts.id, n);
		this.flags[n] = LIVE | (facts.archived ? ARCHIVED : 0) | (facts.cappedPrefixes ? CAPPED : 0);
	}

	private newMark(): number {
		if (this.marks.length < this.nextNumber) this.marks = new Uint32Array(Math.max(this.nextNumber * 2, 1024));
		if (this.mark === 0xffffffff) {
			this.marks.fill(0);
			this.mark = 0;
		}
		return ++this.mark;
	}

	private get termCount(): number {
		return this.starts.length - 1;
	}

	/** Token i of the base compared with `key` in code-unit order (as `<` compares strings): below 0, 0 or above. */
	private compareTerm(i: number, key: string): number {
		const vocabulary = this.vocabulary;
		let at = this.starts[i];
		const end = this.starts[i + 1] - 1;
		for (let k = 0; k < key.length; k++, at++) {
			if (at === end) return -1;
			const difference = vocabulary.charCodeAt(at) - key.charCodeAt(k);
			if (difference !== 0) return difference;
		}
		return at === end ? 0 : 1;
	}

	/** Whether token i of the base starts with `prefix`. */
	private termStartsWith(i: number, prefix: string): boolean {
		const start = this.starts[i];
		if (this.starts[i + 1] - 1 - start < prefix.length) return false;
		return this.vocabulary.startsWith(prefix, start);
	}

	/** The first token of the base not below `key`, from `low`. */
	private lowerBound(key: string, low = 0): number {
		let high = this.termCount;
		while (low < high) {
			const mid = (low + high) >>> 1;
			if (this.compareTerm(mid, key) < 0) low = mid + 1;
			else high = mid;
		}
		return low;
	}

	/** Where the first `:` of token i is, from its start (-1: none). */
	private colonOf(i: number): number {
		const vocabulary = this.vocabulary;
		const start = this.starts[i];
		const end = this.starts[i + 1] - 1;
		for (let at = start; at < end; at++) if (vocabulary.charCodeAt(at) === 58) return at - start;
		return -1;
	}

	private term(i: number): string {
		return this.vocabulary.slice(this.starts[i], this.starts[i + 1] - 1);
	}

	/**
	 * A token's record numbers (dead ones included): its base slice, followed by its delta
	 * numbers. Always a Uint32Array, so the loops over postings see one kind of array.
	 */
	private postingsOf(token: string): Uint32Array {
		const i = this.lowerBound(token);
		const base = i < this.termCount && this.compareTerm(i, token) === 0 ? this.postings.subarray(this.offsets[i], this.offsets[i + 1]) : EMPTY;
		const t = this.delta.get(token);
		if (t === undefined) return base;
		const both = new Uint32Array(base.length + this.deltaTokens[3 * t + 2]);
		both.set(base);
		this.deltaInto(t, both, base.length);
		return both;
	}

	/**
	 * The live records having a token that starts with `prefix`, in the same scope (the
	 * plan's prefix, or longer, whole match), each once, as `matches` says: a token with
	 * prefixes, and for a record with capped prefixes, only if `indexed` is among them.
	 */
	private withPrefix(prefix: string, indexed: string): number[] {
		const stamp = this.newMark();
		const marks = this.marks;
		const flags = this.flags;
		const out: number[] = [];
		const colon = prefix.indexOf(':');
		const restAt = colon + 1;
		const take = (n: number) => {
			if (marks[n] === stamp) return;
			marks[n] = stamp;
			const flag = flags[n];
			if ((flag & LIVE) === 0) return;
			// A record with more prefixes than the tokenizer indexes matches only on those it indexes.
			if (flag & CAPPED && !this.facts[n]!.cappedPrefixes!.includes(indexed)) return;
			out.push(n);
		};
		const offsets = this.offsets;
		const postings = this.postings;
		const count = this.termCount;
		let i = this.lowerBound(prefix);
		while (i < count && this.termStartsWith(i, prefix)) {
			const tokenColon = colon >= 0 ? colon : this.colonOf(i);
			if (tokenColon !== colon) {
				// A scoped token under an unscoped prefix (`c` and `city:…`): its whole scope is skipped at once.
				i = this.lowerBound(`${this.vocabulary.slice(this.starts[i], this.starts[i] + tokenColon)};`, i);
				continue;
			}
			const restStart = this.starts[i] + restAt;
			// Han tokens have no prefixes (tokenPrefixes): checked only for a token that starts like one.
			if (this.vocabulary.charCodeAt(restStart) >= FIRST_HAN_UNIT && !hasPrefixes(this.term(i), restAt)) {
				i++;
				continue;
			}
			for (let k = offsets[i], end = offsets[i + 1]; k < end; k++) take(postings[k]);
			i++;
		}
		if (this.delta.size > 0) {
			if (this.deltaUnsorted.length > UNSORTED_MAX) {
				// Only the new ones are sorted; the two sorted runs are then merged in one pass.
				this.deltaSorted = mergeSorted(this.deltaSorted, this.deltaUnsorted.sort());
				this.deltaUnsorted = [];
			}
			const slots = this.deltaSlots;
			const takeToken = (token: string) => {
				if (!token.startsWith(prefix) || token.indexOf(':') !== colon) return;
				for (let slot = this.deltaTokens[3 * this.delta.get(token)!]; slot !== 0; slot = slots[2 * slot + 1]) take(slots[2 * slot]);
			};
			for (let d = lowerBoundOf(this.deltaSorted, prefix); d < this.deltaSorted.length && this.deltaSorted[d].startsWith(prefix); d++) takeToken(this.deltaSorted[d]);
			for (const token of this.deltaUnsorted) takeToken(token);
		}
		return out;
	}

	/** `members` less those not in `list`. */
	private intersect(members: readonly number[], list: Uint32Array): number[] {
		const stamp = this.newMark();
		const marks = this.marks;
		for (let k = 0; k < list.length; k++) marks[list[k]] = stamp;
		return members.filter((n) => marks[n] === stamp);
	}

	/** The live records matching one alternative of a clause: every token, and the prefix. */
	private alternativeHits(alt: TokenMatch, cache: Map<TokenMatch, number[]>): number[] {
		const cached = cache.get(alt);
		if (cached) return cached;
		const lists = alt.all.map((token) => this.postingsOf(token));
		let found: number[] | null = null;
		if (alt.prefix) found = this.withPrefix(alt.prefix.exact ? alt.prefix.full : alt.prefix.indexed, alt.prefix.indexed);
		lists.sort((a, b) => a.length - b.length);
		for (const list of lists) {
			if (found === null) {
				found = [];
				for (let k = 0; k < list.length; k++) if (this.flags[list[k]] & LIVE) found.push(list[k]);
			} else found = this.intersect(found, list);
			if (found.length === 0) break;
		}
		const result = found ?? [];
		cache.set(alt, result);
		return result;
	}

	/** The numbers of the live records matching every clause, filter and condition (as `matches` would say). */
	private matching(query: SearchQuery, cache: Map<TokenMatch, number[]>, now: number): number[] {
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
			result = result === null ? union : this.intersect(result, Uint32Array.from(union));
			if (result.length === 0) return result;
		}
		const found: number[] = result ?? [...this.numberOf.values()];
		if (query.filters.length === 0 && query.conditions.length === 0) return found;
		return found.filter((n) => {
			const facts = this.facts[n];
			return facts !== undefined && query.filters.every((filter) => passesFilter(filter, facts)) && query.conditions.every((condition) => conditionHolds(condition, facts, now));
		});
	}

	/**
	 * match.ts's `score` for each of `hits`, added in one pass over each posting involved
	 * (a token's scoped copies: `name:华`, `company:华`…; for a prefix, the scoped runs).
	 */
	private scores(query: SearchQuery, hits: readonly number[], cache: Map<TokenMatch, number[]>): Float32Array {
		const size = this.nextNumber;
		if (this.scratch.length === 0 || this.scratch[0].length < size) this.scratch = [0, 1, 2].map(() => new Float32Array(Math.max(1024, size * 2)));
		const [total, best, points] = this.scratch;
		for (const n of hits) total[n] = 1;
		for (const clause of query.clauses) {
			best.fill(0, 0, size);
			for (const alt of clause.anyOf) {
				points.fill(0, 0, size);
				const prefixed = alt.prefix !== undefined && !alt.prefix.full.includes(':');
				for (const n of this.alternativeHits(alt, cache)) points[n] = alt.all.length + (prefixed ? 1 : 0);
				const add = (members: ArrayLike<number>, weight: number) => {
					for (let k = 0; k < members.length; k++) if (points[members[k]] > 0) points[members[k]] += weight;
				};
				for (const token of alt.all) {
					if (token.includes(':')) continue;
					for (const [scope, weight] of SCOPE_WEIGHT) add(this.postingsOf(`${scope}:${token}`), weight);
				}
				if (prefixed) {
					// A whole word counts more than a prefix of one.
					add(this.postingsOf(alt.prefix!.full), 1);
					for (const [scope, weight] of SCOPE_WEIGHT) {
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
		const flags = this.flags;
		const kept = this.matching(query, cache, options.now ?? Date.now()).filter((n) => (flags[n] & LIVE) !== 0 && (options.includeArchived || (flags[n] & ARCHIVED) === 0));
		const hits = limit === 0 || kept.length === 0 ? [] : this.best(kept, this.scores(query, kept, cache), limit);
		const result: SearchResult = { total: kept.length, hits };
		if (options.allIds) result.ids = kept.map((n) => this.facts[n]!.id);
		return result;
	}

	/**
	 * The `limit` best of `numbers`, best first (score, then name and id in code-unit order:
	 * collation costs a microsecond a call, and broad queries tie thousands of times). Only
	 * a hit that beats the last kept is placed, by binary search; nothing else is sorted.
	 */
	private best(numbers: readonly number[], points: Float32Array, limit: number): SearchHit[] {
		const facts = this.facts;
		const before = (a: number, b: number): boolean => {
			if (points[a] !== points[b]) return points[a] > points[b];
			const x = facts[a]!;
			const y = facts[b]!;
			if (x.name !== y.name) return x.name < y.name;
			return x.id < y.id;
		};
		const top: number[] = [];
		for (const n of numbers) {
			if (top.length === limit && !before(n, top[limit - 1])) continue;
			let low = 0;
			let high = top.length;
			while (low < high) {
				const mid = (low + high) >>> 1;
				if (before(top[mid], n)) low = mid + 1;
				else high = mid;
			}
			top.splice(low, 0, n);
			if (top.length > limit) top.pop();
		}
		return top.map((n) => {
			const f = facts[n]!;
			return { id: f.id, name: f.name, company: f.company, stage: f.stage, archived: f.archived, score: points[n] };
		});
	}

	/**
	 * The base as saved data (the delta is not in it: see the file's comment). Its arrays
	 * are handed out as they are: IndexedDB copies them, and a merge makes new ones rather
	 * than changing them.
	 */
	save(searchVersion: number): SavedIndex {
		return {
			format: INDEX_FORMAT,
			searchVersion,
			terms: this.vocabulary,
			starts: this.starts,
			offsets: this.offsets,
			postings: this.postings,
			facts: JSON.stringify(this.baseFacts)
		};
	}

	/** An index loaded from `save`'s data; null when it was saved by another layout or tokenizer version, or does not hold together. */
	static load(saved: SavedIndex, searchVersion: number): RecordSearchIndex | null {
		if (saved?.format !== INDEX_FORMAT || saved.searchVersion !== searchVersion) return null;
		if (typeof saved.terms !== 'string' || typeof saved.facts !== 'string' || !(saved.starts instanceof Uint32Array) || !(saved.offsets instanceof Uint32Array) || !(saved.postings instanceof Uint32Array)) return null;
		const count = saved.starts.length - 1;
		let facts: RecordFacts[];
		try {
			facts = JSON.parse(saved.facts) as RecordFacts[];
		} catch {
			return null;
		}
		if (!Array.isArray(facts) || count < 0 || saved.offsets.length !== count + 1 || saved.offsets[count] !== saved.postings.length || saved.starts[count] !== saved.terms.length) return null;
		// Each token is ended where the next starts (so a damaged vocabulary cannot be read across tokens).
		for (let i = 1; i <= count; i++) if (saved.starts[i] <= saved.starts[i - 1] || saved.terms.charCodeAt(saved.starts[i] - 1) !== 0) return null;
		// Every number must name a record: a damaged copy is rebuilt, not trusted.
		let highest = 0;
		for (let k = 0; k < saved.postings.length; k++) if (saved.postings[k] > highest) highest = saved.postings[k];
		if (highest > facts.length) return null;
		const index = new RecordSearchIndex();
		index.vocabulary = saved.terms;
		index.starts = saved.starts;
		index.offsets = saved.offsets;
		index.postings = saved.postings;
		index.facts = [undefined, ...facts];
		index.baseFacts = facts;
		index.flags = new Uint8Array(Math.max(1024, (facts.length + 1) * 2));
		for (let n = 1; n <= facts.length; n++) index.adopt(n, index.facts[n]!);
		index.nextNumber = facts.length + 1;
		return index;
	}
}

/** The saved index's large fields, in the order their parts are written. */
const PART_FIELDS = ['terms', 'facts', 'starts', 'offsets', 'postings'] as const;
type PartField = (typeof PART_FIELDS)[number];

/** What is stored under the saved index's own key: the rest is in `parts` values of its own (see splitSaved). */
export interface SavedIndexHead {
	format: number;
	searchVersion: number;
	parts: number;
}

/** One IndexedDB value of a saved index: a piece of one of its large fields. */
export interface SavedIndexPart {
	field: PartField;
	data: string | Uint32Array;
}

/**
 * A saved index as a head and parts of at most `partBytes` each (strings counted two
 * bytes a character), to be stored as separate values: see SAVED_PART_BYTES. A typed
 * array's part is a copy (a view would be stored with its whole buffer).
 */
export function splitSaved(saved: SavedIndex, partBytes = SAVED_PART_BYTES): { head: SavedIndexHead; parts: SavedIndexPart[] } {
	const parts: SavedIndexPart[] = [];
	for (const field of PART_FIELDS) {
		const value = saved[field];
		if (typeof value === 'string') {
			const chars = Math.max(2, Math.floor(partBytes / 2));
			let at = 0;
			do {
				let end = Math.min(value.length, at + chars);
				// Never between the two halves of a surrogate pair.
				if (end < value.length && (value.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
				parts.push({ field, data: value.slice(at, end) });
				at = end;
			} while (at < value.length);
		} else {
			const count = Math.max(1, Math.floor(partBytes / 4));
			let at = 0;
			do {
				parts.push({ field, data: value.slice(at, at + count) });
				at += count;
			} while (at < value.length);
		}
	}
	return { head: { format: saved.format, searchVersion: saved.searchVersion, parts: parts.length }, parts };
}

/** The saved index from its head and parts, as splitSaved made them; null when they do not fit together (RecordSearchIndex.load checks the rest). */
export function joinSaved(head: SavedIndexHead | undefined, parts: readonly unknown[]): SavedIndex | null {
	if (!head || typeof head.format !== 'number' || typeof head.searchVersion !== 'number' || head.parts !== parts.length) return null;
	const strings: Partial<Record<PartField, string[]>> = {};
	const arrays: Partial<Record<PartField, Uint32Array[]>> = {};
	for (const part of parts as Partial<SavedIndexPart>[]) {
		const field = part?.field;
		if (field === undefined || !PART_FIELDS.includes(field)) return null;
		const wantString = field === 'terms' || field === 'facts';
		if (wantString && typeof part.data === 'string') (strings[field] ??= []).push(part.data);
		else if (!wantString && part.data instanceof Uint32Array) (arrays[field] ??= []).push(part.data);
		else return null;
	}
	const array = (field: PartField): Uint32Array | null => {
		const pieces = arrays[field];
		if (!pieces) return null;
		if (pieces.length === 1) return pieces[0];
		const out = new Uint32Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
		let at = 0;
		for (const piece of pieces) {
			out.set(piece, at);
			at += piece.length;
		}
		return out;
	};
	const starts = array('starts');
	const offsets = array('offsets');
	const postings = array('postings');
	if (!strings.terms || !strings.facts || !starts || !offsets || !postings) return null;
	return { format: head.format, searchVersion: head.searchVersion, terms: strings.terms.join(''), facts: strings.facts.join(''), starts, offsets, postings };
}

/**
 * A search as typed, answered by `index`: read with the workspace's field definitions (a
 * field named by its label, 预算>100, as the server reads it), then searched. What the
 * worker answers the page's palette and list with.
 */
export function searchText(index: RecordSearchIndex, text: string, options: SearchOptions & { fields?: readonly FieldDefinition[] } = {}): ({ ok: true } & SearchResult) | { ok: false; message: string } {
	const parsed = parseQuery(text, { fields: options.fields });
	if (!parsed.ok) return parsed;
	return { ok: true, ...index.search(parsed.query, options) };
}
