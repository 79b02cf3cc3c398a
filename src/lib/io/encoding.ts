/**
 * Which character encoding an imported file is in. Files that reach a CRM come from
 * Excel on Chinese Windows (GBK/GB18030, or Big5 in Taiwan and Hong Kong), from
 * "Unicode text" exports (UTF-16 with a BOM) and from everything else (UTF-8, with or
 * without a BOM). Detection looks at the first bytes only, so a file is never held
 * whole: a BOM first, then whether the sample is valid UTF-8, then a guess between
 * GB18030 and Big5 from which decoding reads as more common Chinese. Shared by the
 * server's import and the import page's preview; decoding is `TextDecoder`'s.
 */

export const IMPORT_ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'gb18030', 'big5'] as const;
export type ImportEncoding = (typeof IMPORT_ENCODINGS)[number];

/** How the encoding was settled: by a byte-order mark, by the bytes' shape, by a guess, or named by the person; `xlsx`: a workbook's text is Unicode by definition. */
export type EncodingReason = 'bom' | 'utf8-valid' | 'utf16-zeros' | 'guess' | 'override' | 'xlsx';

export interface DetectedEncoding {
	encoding: ImportEncoding;
	reason: EncodingReason;
	/** Bytes of byte-order mark at the start, to skip. */
	bomLength: number;
}

/** How much of the start of a file detection reads. */
export const DETECTION_SAMPLE_BYTES = 64 * 1024;

/** Accepts the names people and tools use (`GBK`, `UTF8`, `cp936`, `big5-hkscs`…) for the five encodings read here. */
export function parseEncodingName(name: string): ImportEncoding | null {
	const key = name.trim().toLowerCase().replace(/[\s_]/g, '-');
	const aliases: Record<string, ImportEncoding> = {
		'utf-8': 'utf-8',
		utf8: 'utf-8',
		'utf-16le': 'utf-16le',
		'utf-16': 'utf-16le',
		utf16le: 'utf-16le',
		'utf-16be': 'utf-16be',
		utf16be: 'utf-16be',
		gb18030: 'gb18030',
		gbk: 'gb18030',
		gb2312: 'gb18030',
		cp936: 'gb18030',
		big5: 'big5',
		'big5-hkscs': 'big5',
		cp950: 'big5'
	};
	return aliases[key] ?? null;
}

function bomOf(bytes: Uint8Array): DetectedEncoding | null {
	if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: 'utf-8', reason: 'bom', bomLength: 3 };
	if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', reason: 'bom', bomLength: 2 };
	if (bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', reason: 'bom', bomLength: 2 };
	return null;
}

/** Whether `bytes` decodes in `label` without a fault; an incomplete sample may end inside a character. */
function decodes(label: string, bytes: Uint8Array, complete: boolean): string | null {
	try {
		return new TextDecoder(label, { fatal: true }).decode(bytes, { stream: !complete });
	} catch {
		return null;
	}
}

/** Text with no BOM that is mostly ASCII in UTF-16 has a zero byte in every other place. */
function utf16ByZeros(bytes: Uint8Array): ImportEncoding | null {
	const n = Math.min(bytes.length, 4096) & ~1;
	if (n < 4) return null;
	let evenZeros = 0;
	let oddZeros = 0;
	for (let i = 0; i < n; i += 2) {
		if (bytes[i] === 0) evenZeros++;
		if (bytes[i + 1] === 0) oddZeros++;
	}
	const pairs = n / 2;
	if (oddZeros > pairs * 0.3 && evenZeros < pairs * 0.05) return 'utf-16le';
	if (evenZeros > pairs * 0.3 && oddZeros < pairs * 0.05) return 'utf-16be';
	return null;
}

/**
 * Characters common in customer lists and everyday Chinese, in both simplified and
 * traditional forms. A GBK file read as Big5 (or the reverse) turns into rare
 * characters and symbols, so the decoding that reads as more of these is the file's.
 */
const COMMON =
	'的一是不了人我在有他这個这中大来來上个國国到说說们們为為子和你地出道也时時年得就那要下以生会會自着去之过過家学學对對可她里裡后後小么么心多天而能好都然没沒日于於起还還发發成事只作当當想看文无無开開手十用主行方又如前所本见見经經头頭面公同三已老从從动動两兩长長' +
	'司电電话話地址城市省区區县縣路号號街道楼樓室客户戶名称稱姓联聯系係人邮郵箱手机機传傳真网網站行业業负負责責阶階段标標签簽备備注註金额額国家职職位销銷售经經理总總部门門有限股份科技贸貿易集团團北京上海深圳广廣州台北香港新竹高雄';
const COMMON_SET = new Set(COMMON);

function commonShare(text: string): number {
	let common = 0;
	let wide = 0;
	for (const ch of text) {
		if (ch.charCodeAt(0) < 0x80) continue;
		wide++;
		if (COMMON_SET.has(ch)) common++;
		else if (ch === '\ufffd') common -= 4;
	}
	return wide === 0 ? 0 : common / wide;
}

/** Between GB18030 and Big5: one that cannot decode the sample loses; else the one reading as more common Chinese. */
function guessChinese(bytes: Uint8Array, complete: boolean): ImportEncoding {
	const gb = decodes('gb18030', bytes, complete);
	const big5 = decodes('big5', bytes, complete);
	if (gb === null && big5 !== null) return 'big5';
	if (big5 === null || gb === null) return 'gb18030';
	return commonShare(big5) > commonShare(gb) ? 'big5' : 'gb18030';
}

/**
 * The encoding of a file from its first bytes (`complete`: the sample is the whole file).
 * An `override` (the person's choice) wins, but a BOM of that encoding is still skipped.
 */
export function detectEncoding(sample: Uint8Array, complete: boolean, override?: ImportEncoding | null): DetectedEncoding {
	const bom = bomOf(sample);
	if (override) return { encoding: override, reason: 'override', bomLength: bom && bom.encoding === override ? bom.bomLength : 0 };
	if (bom) return bom;
	const wide = utf16ByZeros(sample);
	if (wide) return { encoding: wide, reason: 'utf16-zeros', bomLength: 0 };
	if (decodes('utf-8', sample, complete) !== null) return { encoding: 'utf-8', reason: 'utf8-valid', bomLength: 0 };
	return { encoding: guessChinese(sample, complete), reason: 'guess', bomLength: 0 };
}
