/**
 * Duplicate customers: the blocking keys of a record, and what two records sharing
 * keys have in common. Shared by the server, which stores each record's keys with its
 * list row and finds candidates through an index on them (never by comparing all
 * pairs), and the browser and tests, which compare records with the same rules.
 *
 * A key is a normalised fact that two records of one customer would share:
 * - `email:<address>`   the email as the validator stores it (trimmed, lower case);
 * - `phone:<E.164>`     the phone as the validator reads it, in the record's country;
 * - `domain:<domain>`   the registrable domain of the website (public-suffix aware, so
 *                       `www.acme.com` and `sales.acme.com` are both `acme.com`, and
 *                       `a.example.com.cn` is `example.com.cn`);
 * - `name:<name>|<company>` the name and company folded (case, width, accents,
 *                       spacing, punctuation), Han written as pinyin (`张伟` and
 *                       `Zhang Wei` are both `zhangwei`), company suffixes removed
 *                       (`华信科技有限公司` and `华信科技` are one company). A name also
 *                       gets its words in sorted order, so `Wei Zhang` meets `Zhang Wei`.
 * Records share a key or they do not: what is "similar" is decided by the folding.
 */
import { getDomain } from 'tldts';
import { hanSyllables } from '../search/pinyin.ts';
import { fold } from '../search/tokenize.ts';
import type { Scalar } from './schema.ts';
import { displayUrl, normaliseEmail, normalisePhone, normaliseUrl } from './validate.ts';

export type DuplicateReasonKind = 'email' | 'phone' | 'domain' | 'name';

export interface DuplicateReason {
	kind: DuplicateReasonKind;
	/** What is shared: the email, the phone, the domain; for a name, the key both fold to. */
	value: string;
	/** The reason in English words (the app shows its own translation from `kind` and `value`). */
	text: string;
}

export interface DuplicateMatch {
	/** 0..1: how likely the two are one customer, from the reasons together. */
	confidence: number;
	reasons: DuplicateReason[];
}

/** A record that looks like another, as the API lists it. */
export interface DuplicateCandidate extends DuplicateMatch {
	id: string;
	name: string;
	company: string | null;
}

/** A group of records that look like one customer (the workspace scan), most likely first. */
export interface DuplicateCluster {
	confidence: number;
	/** The kinds of reason any two of them share. */
	reasons: DuplicateReasonKind[];
	records: { id: string; name: string; company: string | null }[];
}

/**
 * How much each shared fact says on its own. An email or phone is usually one person's;
 * a website domain is one company's, not one person's; a name and company folded alike
 * is likely the same customer; a name alike when neither has a company, much less so.
 */
const WEIGHT: Record<DuplicateReasonKind | 'nameOnly', number> = { email: 0.9, phone: 0.8, domain: 0.5, name: 0.75, nameOnly: 0.4 };

/** Keys per record at most (two name orders, email, phone, domain): a bound on the row's index entries. */
export const MAX_DUPLICATE_KEYS = 8;
/** Which rules made a stored row's keys; raise it when they change, and rows are re-keyed at start. */
export const DUPLICATE_KEYS_VERSION = 1;
/** Folded names and companies are cut here, so a key stays small whatever was typed. */
const MAX_KEY_PART = 120;

const HAN_RUN = /(\p{Script=Han}+)/u;
const HAN = /^\p{Script=Han}+$/u;
const WORDS = /[\p{L}\p{N}]+/gu;

/**
 * Legal forms that say nothing about which company it is, removed from the end (again
 * and again: `Pte. Ltd.`, `Co., Ltd.`, `集团有限公司`). Latin ones as whole words.
 */
const LATIN_SUFFIXES = [
	'inc', 'incorporated', 'ltd', 'limited', 'llc', 'llp', 'lp', 'plc', 'gmbh', 'ag', 'kg', 'pte', 'pty', 'co', 'company', 'corp',
	'corporation', 'sa', 'sas', 'sarl', 'srl', 'spa', 'bv', 'nv', 'oy', 'ab', 'as', 'kk', 'group', 'holdings'
];
const LATIN_SUFFIX = new RegExp(`(?:^|[\\s,.&/-])(?:${LATIN_SUFFIXES.join('|')})$`, 'u');
const HAN_SUFFIXES = ['股份有限公司', '有限责任公司', '有限公司', '分公司', '总公司', '公司', '集团', '控股', '股份'];
const TRAILING_NOISE = /[\s\p{P}\p{S}]+$/u;
/** A bracketed part, such as a branch's city: `华信科技（深圳）`, `Acme (Asia)`. */
const BRACKETED = /[(（[【][^)）\]】]*[)）\]】]/gu;

/** Han runs as their toneless pinyin syllables (each a word), everything else as its folded words. */
function words(text: string, surname: boolean): string[] {
	const out: string[] = [];
	let first = true;
	for (const part of fold(text).split(HAN_RUN)) {
		if (part === '') continue;
		if (HAN.test(part)) {
			for (const syllable of hanSyllables(part, surname && first)) {
				const letters = fold(syllable).replace(/[^a-z]/g, '');
				if (letters) out.push(letters);
			}
		} else {
			for (const word of part.match(WORDS) ?? []) out.push(word);
		}
		first = false;
	}
	return out;
}

/** A company folded and stripped of its legal form: `华信科技有限公司`, `華信科技` (full width, traditional aside) and `Huaxin Keji Co., Ltd.` meet. */
export function companyKey(company: string): string {
	let text = fold(company).normalize('NFC');
	const unbracketed = text.replace(BRACKETED, ' ');
	if (unbracketed.trim() !== '') text = unbracketed;
	for (let changed = true; changed; ) {
		changed = false;
		const trimmed = text.replace(TRAILING_NOISE, '');
		const latin = trimmed.replace(LATIN_SUFFIX, '');
		const han = HAN_SUFFIXES.find((suffix) => latin.endsWith(suffix) && latin.length > suffix.length);
		const next = han ? latin.slice(0, -han.length) : latin;
		if (next.replace(TRAILING_NOISE, '') !== '' && next !== text) {
			text = next;
			changed = true;
		}
	}
	return words(text, false).join('').slice(0, MAX_KEY_PART);
}

/** A person's name in the forms it may be written: words in order (`zhangwei`) and, when there are several, sorted (`weizhang`). */
export function nameKeys(name: string): string[] {
	const parts = words(name, true);
	if (parts.length === 0) return [];
	const ordered = parts.join('').slice(0, MAX_KEY_PART);
	const sorted = [...parts].sort().join('').slice(0, MAX_KEY_PART);
	return ordered === sorted ? [ordered] : [ordered, sorted];
}

/** The registrable domain of a website (`https://sales.acme.com/x` → `acme.com`), or null. */
export function websiteDomain(website: string): string | null {
	const url = normaliseUrl(website);
	if (!url.ok) return null;
	try {
		// Private suffixes too: two customers' sites on github.io or a hosting suffix are not one company.
		return getDomain(new URL(url.value).hostname, { allowPrivateDomains: true }) ?? null;
	} catch {
		return null;
	}
}

const textOf = (value: Scalar | undefined): string => (typeof value === 'string' ? value : '');

/**
 * A record's blocking keys, from its fields as stored or as typed (each read through
 * the validator's own normalisation; a value it refuses gives no key).
 */
export function duplicateKeys(fields: Readonly<Record<string, Scalar | undefined>>): string[] {
	const keys = new Set<string>();
	const email = textOf(fields.email);
	if (email) {
		const normalised = normaliseEmail(email);
		if (normalised.ok) keys.add(`email:${normalised.value}`);
	}
	const phone = textOf(fields.phone);
	if (phone) {
		const normalised = normalisePhone(phone, { country: textOf(fields.country) || null });
		if (normalised.ok) keys.add(`phone:${normalised.value}`);
	}
	const website = textOf(fields.website);
	const domain = website ? websiteDomain(website) : null;
	if (domain) keys.add(`domain:${domain}`);
	const company = companyKey(textOf(fields.company));
	for (const name of nameKeys(textOf(fields.name))) keys.add(`name:${name}|${company}`);
	return [...keys].slice(0, MAX_DUPLICATE_KEYS);
}

/** The reason a shared key gives, in English (the app translates by kind). */
export function reasonOf(key: string): DuplicateReason | null {
	const at = key.indexOf(':');
	const kind = key.slice(0, at);
	const value = key.slice(at + 1);
	switch (kind) {
		case 'email':
			return { kind, value, text: `same email ${value}` };
		case 'phone':
			return { kind, value, text: `same phone ${value}` };
		case 'domain': {
			const shown = displayUrl(`https://${value}`).replace(/^https:\/\//, '');
			return { kind, value: shown, text: `same website domain ${shown}` };
		}
		case 'name':
			return { kind, value, text: value.endsWith('|') ? 'same name, neither has a company' : 'similar name and company' };
		default:
			return null;
	}
}

/** What two sets of keys have in common, or null when nothing: the reasons, and a confidence from them all. */
export function matchKeys(a: readonly string[], b: readonly string[]): DuplicateMatch | null {
	const other = new Set(b);
	const reasons: DuplicateReason[] = [];
	let unlikely = 1;
	for (const key of a) {
		if (!other.has(key)) continue;
		const reason = reasonOf(key);
		// Both name orders may match; one reason, counted once.
		if (!reason || reasons.some((r) => r.kind === reason.kind)) continue;
		reasons.push(reason);
		unlikely *= 1 - (reason.kind === 'name' && key.endsWith('|') ? WEIGHT.nameOnly : WEIGHT[reason.kind]);
	}
	if (reasons.length === 0) return null;
	return { confidence: Math.round((1 - unlikely) * 100) / 100, reasons };
}

/** Whether two records (their fields) look like one customer, and why. */
export function compareRecords(a: Readonly<Record<string, Scalar | undefined>>, b: Readonly<Record<string, Scalar | undefined>>): DuplicateMatch | null {
	return matchKeys(duplicateKeys(a), duplicateKeys(b));
}

/**
 * Groups records that share keys into clusters (any chain of shared keys joins them),
 * each with the best confidence of any pair in it; most likely first. `groups` are the
 * records of each key shared by more than one (as the store lists them).
 */
export function clusterGroups(
	groups: readonly (readonly { id: string; keys: readonly string[] }[])[]
): { ids: string[]; confidence: number; reasons: DuplicateReasonKind[] }[] {
	const parent = new Map<string, string>();
	const find = (id: string): string => {
		let root = id;
		while (parent.get(root) !== root) root = parent.get(root) ?? root;
		for (let at = id; at !== root; ) {
			const next = parent.get(at)!;
			parent.set(at, root);
			at = next;
		}
		return root;
	};
	const best = new Map<string, { confidence: number; reasons: Set<DuplicateReasonKind> }>();
	const seenPairs = new Set<string>();
	for (const group of groups) {
		for (const record of group) if (!parent.has(record.id)) parent.set(record.id, record.id);
		for (let i = 0; i < group.length; i++) {
			for (let j = i + 1; j < group.length; j++) {
				const [a, b] = group[i].id < group[j].id ? [group[i], group[j]] : [group[j], group[i]];
				const pair = `${a.id} ${b.id}`;
				if (seenPairs.has(pair)) continue;
				seenPairs.add(pair);
				const match = matchKeys(a.keys, b.keys);
				if (!match) continue;
				const ra = find(a.id);
				const rb = find(b.id);
				const root = ra < rb ? ra : rb;
				const merged = { confidence: match.confidence, reasons: new Set(match.reasons.map((r) => r.kind)) };
				for (const r of new Set([ra, rb])) {
					const held = best.get(r);
					if (held) {
						merged.confidence = Math.max(merged.confidence, held.confidence);
						for (const kind of held.reasons) merged.reasons.add(kind);
					}
					best.delete(r);
				}
				parent.set(ra, root);
				parent.set(rb, root);
				best.set(root, merged);
			}
		}
	}
	const members = new Map<string, string[]>();
	for (const id of parent.keys()) {
		const root = find(id);
		if (!best.has(root)) continue;
		const list = members.get(root);
		if (list) list.push(id);
		else members.set(root, [id]);
	}
	return [...members.entries()]
		.map(([root, ids]) => ({ ids: ids.sort(), confidence: best.get(root)!.confidence, reasons: [...best.get(root)!.reasons].sort() }))
		.sort((x, y) => y.confidence - x.confidence || y.ids.length - x.ids.length || (x.ids[0] < y.ids[0] ? -1 : 1));
}
