/**
 * Sort keys that order text as `Intl.Collator('zh')` does (Chinese by pinyin, then Latin
 * letters, accents and case after the letters themselves), as plain ASCII strings that
 * compare byte by byte. Postgres compares them with `COLLATE "C"`, which PGlite (without
 * ICU) and every Postgres have, so the server sorts as a Chinese reader expects without
 * a collation of its own; the browser sorts its local rows by the same keys.
 *
 * Why the collator's own order and not pinyin made by the search's converter: ICU reads
 * each character one way (长 as zhang, 重 as chong), while pinyin-pro reads words in
 * context (长沙 changsha). Keys made from the collator's ranks agree with it by
 * construction; tests/unit/collation.test.ts measures it on the demo data.
 *
 * A key is each character's rank at the base level (letters, pinyin), then `!`, then
 * each character's rank with accents and case: the first differing base rank decides,
 * and only equal bases look at accents and case, as the collator's levels do.
 */

/** Characters ranked: Latin and its accents, CJK punctuation and radicals, the common Han blocks, full-width forms. */
const RANKED_RANGES: readonly [number, number][] = [
	[0x20, 0x7e],
	[0xa0, 0x24f],
	[0x2e80, 0x2fdf],
	[0x3000, 0x303f],
	[0x3400, 0x4dbf],
	[0x4e00, 0x9fff],
	[0xf900, 0xfaff],
	[0xff00, 0xffef]
];

/** Characters of a text that count: longer texts are ordered by their first this many (then by id). */
export const COLLATION_KEY_CHARS = 64;
/** Digits of a rank: 64 values each (ASCII 0 to o), three of them: 262,144 ranks, past the 30,000 ranked characters. */
const RANK_WIDTH = 3;
/** After every ranked character: a character the table does not hold (emoji, rare Han). */
const UNRANKED = '~'.repeat(RANK_WIDTH);

interface RankTable {
	base: Map<number, string>;
	full: Map<number, string>;
}

let table: RankTable | null = null;

function encodeRank(rank: number): string {
	let out = '';
	for (let k = 0; k < RANK_WIDTH; k++) {
		out = String.fromCharCode(48 + (rank % 64)) + out;
		rank = Math.floor(rank / 64);
	}
	return out;
}

/** Sorts the ranked characters once with the collator (about 0.1–0.3 s), on first use. */
function rankTable(): RankTable {
	if (table) return table;
	const chars: string[] = [];
	for (const [from, to] of RANKED_RANGES) for (let code = from; code <= to; code++) chars.push(String.fromCharCode(code));
	const base = new Intl.Collator('zh', { sensitivity: 'base' });
	const full = new Intl.Collator('zh', { sensitivity: 'variant' });
	chars.sort(full.compare);
	const baseRanks = new Map<number, string>();
	const fullRanks = new Map<number, string>();
	let baseRank = 1;
	let fullRank = 1;
	chars.forEach((ch, index) => {
		if (index > 0 && base.compare(chars[index - 1], ch) !== 0) baseRank++;
		if (index > 0 && full.compare(chars[index - 1], ch) !== 0) fullRank++;
		baseRanks.set(ch.charCodeAt(0), encodeRank(baseRank));
		fullRanks.set(ch.charCodeAt(0), encodeRank(fullRank));
	});
	table = { base: baseRanks, full: fullRanks };
	return table;
}

/** The sort key of `text` (see the top of this file); '' for an empty text. */
export function collationKey(text: string): string {
	if (text === '') return '';
	const { base, full } = rankTable();
	let primary = '';
	let tertiary = '';
	let count = 0;
	for (const ch of text) {
		if (count++ >= COLLATION_KEY_CHARS) break;
		const code = ch.length === 1 ? ch.charCodeAt(0) : -1;
		primary += base.get(code) ?? UNRANKED;
		tertiary += full.get(code) ?? UNRANKED;
	}
	return `${primary}!${tertiary}`;
}

/** Compares two keys as `COLLATE "C"` does (code units of ASCII: bytes). */
export function compareKeys(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}
