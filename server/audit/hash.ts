/**
 * The audit log's hash chain: each entry's hash is SHA-256 over the previous entry's
 * hash and the canonical JSON of its own content. Values are made JSON-safe (and safe
 * for Postgres text and jsonb) before they are hashed and stored, so what is read back
 * hashes to the same value on PGlite and on Postgres.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AuditValue } from '../../src/lib/model/audit.ts';

/** The `prev_hash` of a workspace's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** Longest string kept in a value; longer ones are cut (and marked) so one huge field cannot bloat the log. */
export const MAX_VALUE_CHARS = 10_000;

/** Postgres text and jsonb accept neither NUL nor lone surrogates: replace both with U+FFFD. */
export function cleanText(text: string): string {
	// eslint-disable-next-line no-control-regex
	return text.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Cuts text to `max` UTF-16 units without splitting a surrogate pair. */
export function clip(text: string, max: number): string {
	if (text.length <= max) return text;
	let end = max;
	if (/[\ud800-\udbff]/.test(text[end - 1])) end--;
	return text.slice(0, end);
}

/**
 * Any value a Yjs document may hold, as plain JSON: Y types by their JSON, binary by
 * its size, non-finite numbers as null, undefined as null; strings cleaned and capped.
 */
export function jsonSafe(value: unknown, depth = 0): AuditValue {
	if (value === null || value === undefined) return null;
	if (typeof value === 'string') {
		const cleaned = cleanText(value);
		return cleaned.length > MAX_VALUE_CHARS ? { $truncated: true, length: cleaned.length, start: clip(cleaned, 200) } : cleaned;
	}
	if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : null;
	if (typeof value === 'boolean') return value;
	if (typeof value === 'bigint') return value.toString();
	if (depth > 20) return null;
	if (value instanceof Uint8Array) return { $binary: value.byteLength };
	if (typeof (value as { toJSON?: unknown }).toJSON === 'function' && !Array.isArray(value)) {
		return jsonSafe((value as { toJSON(): unknown }).toJSON(), depth + 1);
	}
	if (Array.isArray(value)) return value.map((item) => jsonSafe(item, depth + 1));
	if (typeof value === 'object') {
		const out: Record<string, AuditValue> = {};
		for (const [key, item] of Object.entries(value as Record<string, unknown>)) out[cleanText(key)] = jsonSafe(item, depth + 1);
		return out;
	}
	return null;
}

/** JSON with object keys sorted at every level: one text for one value, whatever the key order. */
export function canonicalJson(value: unknown): string {
	if (value === null || value === undefined) return 'null';
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	if (typeof value === 'object') {
		const entries = Object.entries(value as Record<string, unknown>)
			.filter(([, item]) => item !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
	}
	return JSON.stringify(value);
}

/** Everything an entry says, as hashed: every column but `id`, `prev_hash` and `hash`. */
export interface SealedContent {
	workspace: string;
	seq: number;
	recordId: string | null;
	at: string;
	firstAt: string;
	changes: number;
	actorId: string;
	actorName: string;
	source: string;
	relayedBy: AuditValue;
	path: string;
	op: string;
	before: AuditValue;
	after: AuditValue;
	conflict: AuditValue;
	stagedId: number | null;
}

export function entryHash(prevHash: string, content: SealedContent): string {
	return createHash('sha256')
		.update(prevHash)
		.update(canonicalJson({ v: 1, ...content }))
		.digest('hex');
}

/**
 * What stands in an entry where a value was, once the customer it describes was erased
 * (server/erase.ts). A value that was null stays null: it said nothing about anyone.
 */
export const ERASED_VALUE: AuditValue = { $erased: true };

/** An entry's values, the part of it an erasure removes. */
export type EntryValues = Pick<SealedContent, 'before' | 'after' | 'conflict'>;

/** A fresh salt for one entry's values: 16 random bytes, hex. */
export function newValuesSalt(): string {
	return randomBytes(16).toString('hex');
}

/**
 * The values' own hash (version 2 entries), salted so that, once the salt is dropped
 * with the values, nobody can confirm a guess of a short value (a phone number) by it.
 */
export function valuesHash(salt: string, values: EntryValues): string {
	return createHash('sha256')
		.update(salt)
		.update(canonicalJson({ before: values.before, after: values.after, conflict: values.conflict }))
		.digest('hex');
}

/**
 * Version 2 of an entry's hash: over the previous hash and the entry's content with its
 * values replaced by their hash, so the chain still checks when the values are erased,
 * and every other column (who, when, where, what kind of change) stays covered.
 */
export function entryHashV2(prevHash: string, content: SealedContent, valuesDigest: string): string {
	// eslint-disable-next-line @typescript-eslint/no-unused-vars
	const { before, after, conflict, ...rest } = content;
	return createHash('sha256')
		.update(prevHash)
		.update(canonicalJson({ v: 2, ...rest, values: valuesDigest }))
		.digest('hex');
}
