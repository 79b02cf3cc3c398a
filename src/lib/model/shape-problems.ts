/**
 * What the server did not keep of a live change, as data rather than sentences: the
 * server's shape guard reports these, the `refused` frame carries them to the writer, and
 * the browser words them in the person's language. The English wording here is the one
 * a stock y-websocket client (and the server's log) reads, so both say the same thing.
 */
import type { Validated } from './validate.ts';

export type ShapeProblem =
	/** A field's value failed the workspace's definition; `code` is the validator's. */
	| { kind: 'field'; field: string; code: string; raw: string; message: string }
	/** A `meta` key only the server writes. */
	| { kind: 'meta'; key: string }
	/** `meta.archived` that is not true or false. */
	| { kind: 'archived' }
	/** Content written into a map as if it were a list (`fields`, `tags`, `meta`, an item). */
	| { kind: 'keyless'; place: 'fields' | 'tags' | 'meta' | 'item' }
	/** A tag that is not a short name mapped to true. */
	| { kind: 'tag'; tag: string; max: number }
	/** A contact or activity that is not a map. */
	| { kind: 'entry'; list: 'contacts' | 'activities' }
	/** A contact's or activity's value that is not plain. */
	| { kind: 'item-value'; key: string }
	/** Notes hold text only. */
	| { kind: 'notes' }
	/** Any other refusal, already in words (the admin-only field definitions document). */
	| { kind: 'other'; text: string };

/** Longest text of a problem's own parts on the wire (keys and raw values are cut to it). */
const PART = 60;

export function fieldProblem(field: string, raw: unknown, result: Extract<Validated<unknown>, { ok: false }>): ShapeProblem {
	return { kind: 'field', field: field.slice(0, PART), code: result.code, raw: String(raw ?? '').slice(0, PART), message: result.message };
}

/** The problem in English: the `refused` frame's reason, and what a stock client shows. */
export function describeProblem(problem: ShapeProblem): string {
	switch (problem.kind) {
		case 'field':
			return `fields.${problem.field}: ${problem.message} The previous value was kept.`;
		case 'meta':
			return `meta.${problem.key} is set by the server and cannot be changed.`;
		case 'archived':
			return 'meta.archived must be true or false.';
		case 'keyless':
			return `${problem.place === 'item' ? 'a contact or activity' : problem.place} is a map of named values; content written without a name was not kept.`;
		case 'tag':
			return `tags: a tag is a name of at most ${problem.max} characters mapped to true; "${problem.tag}" was not kept.`;
		case 'entry':
			return `${problem.list}: each entry must be a map of values; an entry of another kind was not kept.`;
		case 'item-value':
			return `${problem.key} of a contact or activity must be plain text, a number or true/false; the previous value was kept.`;
		case 'notes':
			return 'notes hold text only; embedded objects were not kept.';
		case 'other':
			return problem.text;
	}
}

/** At most this many problems travel in one refusal (the rest are alike). */
export const MAX_PROBLEMS = 5;

/** Distinct problems, at most `MAX_PROBLEMS`, in the order they were found. */
export function distinctProblems(problems: readonly ShapeProblem[]): ShapeProblem[] {
	const seen = new Set<string>();
	const out: ShapeProblem[] = [];
	for (const problem of problems) {
		const key = JSON.stringify(problem);
		if (seen.has(key)) continue;
		seen.add(key);
		out.push(problem);
		if (out.length === MAX_PROBLEMS) break;
	}
	return out;
}

const KEYLESS_PLACES = new Set(['fields', 'tags', 'meta', 'item']);
const text = (value: unknown): value is string => typeof value === 'string' && value.length <= 1_000;

/**
 * Reads problems from a frame the server sent: anything not shaped as a problem is
 * dropped (the sentence of the frame's `reason` is still there to show).
 */
export function readProblems(json: string): ShapeProblem[] {
	let parsed: unknown;
	try {
		parsed = JSON.parse(json);
	} catch {
		return [];
	}
	if (!Array.isArray(parsed)) return [];
	const out: ShapeProblem[] = [];
	for (const entry of parsed.slice(0, MAX_PROBLEMS) as unknown[]) {
		if (typeof entry !== 'object' || entry === null) continue;
		const p = entry as Record<string, unknown>;
		switch (p.kind) {
			case 'field':
				if (text(p.field) && text(p.code) && text(p.raw) && text(p.message)) out.push({ kind: 'field', field: p.field, code: p.code, raw: p.raw, message: p.message });
				break;
			case 'meta':
				if (text(p.key)) out.push({ kind: 'meta', key: p.key });
				break;
			case 'archived':
			case 'notes':
				out.push({ kind: p.kind });
				break;
			case 'keyless':
				if (typeof p.place === 'string' && KEYLESS_PLACES.has(p.place)) out.push({ kind: 'keyless', place: p.place as 'fields' | 'tags' | 'meta' | 'item' });
				break;
			case 'tag':
				if (text(p.tag) && typeof p.max === 'number') out.push({ kind: 'tag', tag: p.tag, max: p.max });
				break;
			case 'entry':
				if (p.list === 'contacts' || p.list === 'activities') out.push({ kind: 'entry', list: p.list });
				break;
			case 'item-value':
				if (text(p.key)) out.push({ kind: 'item-value', key: p.key });
				break;
			case 'other':
				if (text(p.text)) out.push({ kind: 'other', text: p.text });
				break;
		}
	}
	return out;
}
