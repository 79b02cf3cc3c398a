/**
 * Rows of an Excel workbook (`.xlsx`, Office Open XML SpreadsheetML) for the import,
 * one sheet streamed row by row. The zip is read by yauzl (random access from a file,
 * so the parts can be read in the order they are needed whatever order Excel wrote them
 * in, and with every entry's inflated size checked against what the archive declares)
 * and each XML part by saxes (streaming, no DTD: a DOCTYPE is refused, so no entity can
 * be expanded). Only the cell values are read: shared strings (held, bounded), inline
 * strings, numbers, booleans, errors, and numbers formatted as dates (turned into
 * ISO dates by the cell's number format and the workbook's 1900 or 1904 date system).
 *
 * Why not an xlsx library: the npm `xlsx` 0.18.5 carries CVE-2023-30533 and
 * CVE-2024-22363; ExcelJS's streaming reader writes every sheet that comes before the
 * shared strings (Excel's own order) to an unbounded temp file and keeps every shared
 * string, with no bound on either, over about 190 dependencies; read-excel-file and
 * SheetJS builds read a whole workbook into memory. A zip bomb must be refused before it
 * is inflated, and a 100,000-row sheet must stream: this reader does both (see README).
 *
 * Bounds: the entry count, each part's inflated size (declared sizes are checked
 * before anything is inflated, and yauzl fails an entry that inflates past its
 * declared size), the shared strings' count and characters, the sheet's columns, rows
 * and cell length; each refusal is an UnreadableFileError with a sentence naming it.
 */
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { openSync, readSync, closeSync } from 'node:fs';

/** The file cannot be read as a workbook; `row` where a sheet stopped being readable. */
export class XlsxError extends Error {
	override readonly name = 'XlsxError';
	constructor(
		message: string,
		readonly row: number | null = null
	) {
		super(message);
	}
}

export interface XlsxLimits {
	/** Entries in the zip (a workbook has a few dozen). */
	maxEntries: number;
	/** Inflated bytes of the sheet read. */
	maxSheetBytes: number;
	/** Inflated bytes of each other part read (workbook, relationships, styles). */
	maxPartBytes: number;
	/** Inflated bytes of the shared strings part, and the characters kept from it. */
	maxSharedStringBytes: number;
	maxSharedStrings: number;
	/** Inflated bytes over compressed bytes of one part past which it is taken for a zip bomb (when it is also large). */
	maxRatio: number;
	maxColumns: number;
	maxCellChars: number;
}

export const DEFAULT_XLSX_LIMITS: XlsxLimits = {
	maxEntries: 10_000,
	maxSheetBytes: 1024 * 1024 * 1024,
	maxPartBytes: 32 * 1024 * 1024,
	maxSharedStringBytes: 256 * 1024 * 1024,
	maxSharedStrings: 4_000_000,
	maxRatio: 1000,
	maxColumns: 500,
	maxCellChars: 100_000
};

export interface SheetInfo {
	name: string;
	/** The part's path in the zip (xl/worksheets/sheet1.xml). */
	path: string;
	hidden: boolean;
}

/** A cell as read: its text, and whether it was a number (or date) rather than text. */
export interface XlsxCell {
	text: string;
	numeric: boolean;
}

export interface XlsxRow {
	/** The sheet's own row number (1-based), as Excel shows it. */
	row: number;
	/** Column index (0 = A) → cell; empty cells are absent, and so are cells past four times the column limit. */
	cells: Map<number, XlsxCell>;
	/** One past the last column with a value, counting those left out. */
	width: number;
}

const MB = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MB`;

/** Whether the file starts as an OLE2 compound file: an Excel 97–2003 `.xls`, or a password-protected `.xlsx`. */
function isCompoundFile(file: string): boolean {
	const fd = openSync(file, 'r');
	try {
		const head = Buffer.alloc(8);
		readSync(fd, head, 0, 8, 0);
		return head.equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]));
	} finally {
		closeSync(fd);
	}
}

/** The local name of an element (`x:row` → `row`): some writers prefix SpreadsheetML's namespace. */
const local = (name: string): string => {
	const colon = name.indexOf(':');
	return colon < 0 ? name : name.slice(colon + 1);
};

/** `AB12` → column index 27 (A = 0); null when the reference has no letters. */
export function columnOf(reference: string): number | null {
	let column = 0;
	let i = 0;
	for (; i < reference.length; i++) {
		const code = reference.charCodeAt(i);
		const upper = code >= 97 && code <= 122 ? code - 32 : code;
		if (upper < 65 || upper > 90) break;
		column = column * 26 + (upper - 64);
		if (column > 16_384) return null;
	}
	return i === 0 ? null : column - 1;
}

/** Resolves a relationship's target against the part that names it (`worksheets/sheet1.xml` from xl/workbook.xml). */
function resolvePart(from: string, target: string): string {
	if (target.startsWith('/')) return target.slice(1);
	const parts = from.split('/').slice(0, -1);
	for (const piece of target.split('/')) {
		if (piece === '..') parts.pop();
		else if (piece !== '.' && piece !== '') parts.push(piece);
	}
	return parts.join('/');
}

/** Built-in number formats that show a date or time (ECMA-376 18.8.30, with the East Asian ones Chinese Excel uses). */
const BUILTIN_DATE_FORMATS = new Set([14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47, 50, 51, 52, 53, 54, 55, 56, 57, 58]);

/** Whether a custom number format shows a date or time: y, m, d, h or s (or 年月日时分秒) outside quotes, escapes and brackets other than elapsed time. */
export function isDateFormat(code: string): boolean {
	const stripped = code
		.replace(/"[^"]*"/g, '')
		.replace(/\\./g, '')
		.replace(/_./g, '')
		.replace(/\[(?:h+|m+|s+)\]/gi, 'h')
		.replace(/\[[^\]]*\]/g, '');
	// Only the first section (positive numbers) decides.
	const first = stripped.split(';')[0];
	return /[ymdhs年月日时分秒時]/iu.test(first) && !/^general$/i.test(first.trim());
}

const DAY_MS = 86_400_000;

/**
 * An Excel serial date as ISO: `2026-03-15` for a whole day, `2026-03-15T09:30:00` when it
 * has a time of day (Excel stores no time zone; it is read as written). The 1900 system
 * counts Lotus's 29 February 1900, so days before 1 March 1900 are one off.
 */
export function excelDate(serial: number, date1904: boolean): string | null {
	if (!Number.isFinite(serial) || serial < 0 || serial > 2_958_465) return null;
	let ms: number;
	if (date1904) ms = Date.UTC(1904, 0, 1) + serial * DAY_MS;
	else ms = Date.UTC(1899, 11, 30) + (serial < 61 ? serial + 1 : serial) * DAY_MS;
	const rounded = Math.round(ms / 1000) * 1000;
	const iso = new Date(rounded).toISOString();
	return rounded % DAY_MS === 0 ? iso.slice(0, 10) : iso.slice(0, 19);
}

/** The numbers Excel writes as `<v>` text, as a person reads them: `1E-3` → `0.001`, `13800138000` stays. */
function numberText(value: string): string {
	if (!/[eE]/.test(value)) return value;
	const number = Number(value);
	if (!Number.isFinite(number)) return value;
	return Math.abs(number) >= 1e21 || (Math.abs(number) < 1e-6 && number !== 0) ? value : String(number);
}

/**
 * An opened workbook: its sheets (in the workbook's order) and what reading one needs.
 * `close()` releases the file.
 */
export class Workbook {
	private styles: boolean[] | null = null;
	private strings: string[] | null = null;

	private constructor(
		private readonly zip: ZipFile,
		private readonly entries: Map<string, Entry>,
		readonly sheets: SheetInfo[],
		private readonly date1904: boolean,
		private readonly sharedStringsPath: string | null,
		private readonly stylesPath: string | null,
		private readonly limits: XlsxLimits
	) {}

	static async open(file: string, limits: XlsxLimits = DEFAULT_XLSX_LIMITS): Promise<Workbook> {
		let zip: ZipFile;
		try {
			zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false });
		} catch (error) {
			if (isCompoundFile(file)) {
				throw new XlsxError('This is an Excel 97–2003 workbook (.xls) or a password-protected one: open it in Excel, remove any password, and save it as an Excel workbook (.xlsx) or as CSV UTF-8.');
			}
			throw new XlsxError(`The file is not a complete .xlsx workbook (${(error as Error).message}): it may be cut off, or not an Excel file. Save it again from Excel as an Excel workbook (.xlsx).`);
		}
		try {
			if (zip.entryCount > limits.maxEntries) throw new XlsxError(`The workbook holds ${zip.entryCount} parts; at most ${limits.maxEntries} are read. It is not a spreadsheet this importer can read.`);
			const entries = new Map<string, Entry>();
			for await (const entry of zip.eachEntry()) {
				if (!entry.fileName.endsWith('/')) entries.set(entry.fileName.replace(/\\/g, '/'), entry);
			}
			const reader = new PartReader(zip, entries, limits);
			// The main document: named by the package's relationships, xl/workbook.xml when they are missing.
			const rootRels = await reader.relationships('_rels/.rels', '');
			const workbookPath = rootRels.find((r) => r.type.endsWith('/officeDocument'))?.target ?? 'xl/workbook.xml';
			if (!entries.has(workbookPath)) {
				throw new XlsxError('The file is a zip archive but not an Excel workbook (it has no workbook part). Save it from Excel as an Excel workbook (.xlsx).');
			}
			const folder = workbookPath.split('/').slice(0, -1).join('/');
			const relations = await reader.relationships(`${folder ? `${folder}/` : ''}_rels/${workbookPath.split('/').at(-1)}.rels`, workbookPath);
			const byId = new Map(relations.map((r) => [r.id, r]));
			const listed: Array<{ name: string; rel: string; hidden: boolean }> = [];
			let date1904 = false;
			await reader.parse(workbookPath, limits.maxPartBytes, {
				open(tag) {
					const name = local(tag.name);
					if (name === 'workbookPr') {
						const value = tag.attributes.date1904;
						date1904 = value === '1' || value === 'true';
					} else if (name === 'sheet' && listed.length < 1000) {
						const rel = Object.entries(tag.attributes).find(([key]) => local(key) === 'id' && key !== 'sheetId')?.[1] ?? '';
						listed.push({ name: String(tag.attributes.name ?? `Sheet${listed.length + 1}`), rel: String(rel), hidden: tag.attributes.state === 'hidden' || tag.attributes.state === 'veryHidden' });
					}
				}
			});
			const sheets: SheetInfo[] = [];
			for (const sheet of listed) {
				const rel = byId.get(sheet.rel);
				// Chart sheets and dialog sheets hold no cells.
				if (!rel || !rel.type.endsWith('/worksheet') || !entries.has(rel.target)) continue;
				sheets.push({ name: sheet.name, path: rel.target, hidden: sheet.hidden });
			}
			if (sheets.length === 0) throw new XlsxError('The workbook has no worksheet to read (only charts, or none at all).');
			const sharedStrings = relations.find((r) => r.type.endsWith('/sharedStrings'))?.target ?? null;
			const styles = relations.find((r) => r.type.endsWith('/styles'))?.target ?? null;
			return new Workbook(zip, entries, sheets, date1904, sharedStrings && entries.has(sharedStrings) ? sharedStrings : null, styles && entries.has(styles) ? styles : null, limits);
		} catch (error) {
			zip.close();
			throw error instanceof XlsxError ? error : new XlsxError(`The workbook cannot be read: ${(error as Error).message}. Save it again from Excel as an Excel workbook (.xlsx).`);
		}
	}

	close(): void {
		this.zip.close();
	}

	/** Whether a sheet has at least `rows` non-empty rows (read only as far as that). */
	async hasRows(sheet: SheetInfo, rows: number): Promise<boolean> {
		let seen = 0;
		for await (const _ of this.rows(sheet)) if (++seen >= rows) return true;
		return false;
	}

	/** Which cell styles show numbers as dates: the style index (`<c s="…">`) → true. */
	private async dateStyles(reader: PartReader): Promise<boolean[]> {
		if (!this.stylesPath) return [];
		const custom = new Map<number, string>();
		const styles: boolean[] = [];
		let inCellXfs = false;
		await reader.parse(this.stylesPath, this.limits.maxPartBytes, {
			open(tag) {
				const name = local(tag.name);
				if (name === 'numFmt') custom.set(Number(tag.attributes.numFmtId), String(tag.attributes.formatCode ?? ''));
				else if (name === 'cellXfs') inCellXfs = true;
				else if (name === 'xf' && inCellXfs && styles.length < 65_536) {
					const id = Number(tag.attributes.numFmtId ?? 0);
					const code = custom.get(id);
					styles.push(code !== undefined ? isDateFormat(code) : BUILTIN_DATE_FORMATS.has(id));
				}
			},
			close(name) {
				if (local(name) === 'cellXfs') inCellXfs = false;
			}
		});
		return styles;
	}

	/** The shared strings, in order (rich text runs joined; phonetic guides, `<rPh>`, left out). */
	private async sharedStrings(reader: PartReader): Promise<string[]> {
		if (!this.sharedStringsPath) return [];
		const limits = this.limits;
		const strings: string[] = [];
		let current: string | null = null;
		let inText = false;
		let phonetic = 0;
		await reader.parse(this.sharedStringsPath, limits.maxSharedStringBytes, {
			open(tag) {
				const name = local(tag.name);
				if (name === 'si') {
					current = '';
					if (strings.length >= limits.maxSharedStrings) throw new XlsxError(`The workbook holds more than ${limits.maxSharedStrings} different texts; save the sheet as CSV UTF-8 and import that.`);
				} else if (name === 'rPh') phonetic++;
				else if (name === 't' && phonetic === 0) inText = true;
			},
			text(value) {
				if (inText && current !== null) {
					current += value;
					if (current.length > limits.maxCellChars) throw new XlsxError(`Shared text ${strings.length + 1} of the workbook has more than ${limits.maxCellChars} characters; at most that many are read in a cell.`);
				}
			},
			close(name) {
				const element = local(name);
				if (element === 't') inText = false;
				else if (element === 'rPh') phonetic--;
				else if (element === 'si' && current !== null) {
					strings.push(current);
					current = null;
				}
			}
		});
		return strings;
	}

	/**
	 * The rows of a sheet, in order, each with its non-empty cells. `fraction` is told how
	 * far through the sheet's bytes the reading is (a job's progress bar).
	 */
	async *rows(sheet: SheetInfo, fraction?: (done: number) => void): AsyncGenerator<XlsxRow> {
		const reader = new PartReader(this.zip, this.entries, this.limits);
		// Read once per workbook, whichever sheets are read.
		this.styles ??= await this.dateStyles(reader);
		this.strings ??= await this.sharedStrings(reader);
		const dates = this.styles;
		const shared = this.strings;
		const limits = this.limits;
		const date1904 = this.date1904;
		const ready: XlsxRow[] = [];
		let rowNumber = 0;
		let cells: Map<number, XlsxCell> | null = null;
		let width = 0;
		let column = -1;
		let type = 'n';
		let style = 0;
		let value: string | null = null;
		let inline: string | null = null;
		let capture: 'v' | 't' | null = null;
		let phonetic = 0;
		const fail = (message: string): never => {
			throw new XlsxError(message, rowNumber || null);
		};
		const handlers: PartHandlers = {
			open(tag) {
				const name = local(tag.name);
				switch (name) {
					case 'row': {
						const r = Number(tag.attributes.r);
						rowNumber = Number.isInteger(r) && r > rowNumber ? r : rowNumber + 1;
						if (rowNumber > 1_048_576) fail(`Sheet "${sheet.name}" has a row numbered past Excel's last row (1,048,576).`);
						cells = new Map();
						width = 0;
						column = -1;
						break;
					}
					case 'c': {
						const reference = tag.attributes.r;
						const at = typeof reference === 'string' ? columnOf(reference) : null;
						column = at !== null && at > column ? at : column + 1;
						type = String(tag.attributes.t ?? 'n');
						style = Number(tag.attributes.s ?? 0);
						value = null;
						inline = null;
						break;
					}
					case 'v':
						capture = 'v';
						value = '';
						break;
					case 'is':
						inline = '';
						break;
					case 'rPh':
						phonetic++;
						break;
					case 't':
						if (inline !== null && phonetic === 0) capture = 't';
						break;
					default:
						break;
				}
			},
			text(text) {
				if (capture === 'v' && value !== null) {
					value += text;
					if (value.length > limits.maxCellChars) fail(`Row ${rowNumber}, column ${column + 1}: the cell has more than ${limits.maxCellChars} characters; at most that many are read.`);
				} else if (capture === 't' && inline !== null) {
					inline += text;
					if (inline.length > limits.maxCellChars) fail(`Row ${rowNumber}, column ${column + 1}: the cell has more than ${limits.maxCellChars} characters; at most that many are read.`);
				}
			},
			close(name) {
				switch (local(name)) {
					case 'v':
					case 't':
						capture = null;
						break;
					case 'rPh':
						phonetic--;
						break;
					case 'c': {
						if (!cells) break;
						let cell: XlsxCell | null = null;
						if (type === 'inlineStr') cell = inline !== null && inline !== '' ? { text: inline, numeric: false } : null;
						else if (value === null || value === '') cell = null;
						else if (type === 's') {
							const text = shared[Number(value)];
							if (text === undefined) fail(`Row ${rowNumber}, column ${column + 1} names shared text ${value}, which the workbook does not have: the file is damaged.`);
							cell = text === '' ? null : { text: text!, numeric: false };
						} else if (type === 'b') cell = { text: value === '1' ? 'TRUE' : 'FALSE', numeric: false };
						else if (type === 'str' || type === 'e') cell = { text: value, numeric: false };
						else if (type === 'd') cell = { text: value, numeric: true };
						else if (dates[style]) cell = { text: excelDate(Number(value), date1904) ?? value, numeric: true };
						else cell = { text: numberText(value), numeric: true };
						if (cell) {
							width = column + 1;
							// Cells far past the header are only counted: a row reaching column XFD holds no more than its values.
							if (column < limits.maxColumns * 4) cells.set(column, cell);
						}
						break;
					}
					case 'row':
						if (cells && width > 0) ready.push({ row: rowNumber, cells, width });
						cells = null;
						break;
					default:
						break;
				}
			}
		};
		for await (const _ of reader.stream(sheet.path, limits.maxSheetBytes, handlers, fraction)) {
			if (ready.length > 0) yield* ready.splice(0);
		}
		yield* ready.splice(0);
	}
}

interface PartHandlers {
	open?(tag: SaxesTagPlain): void;
	text?(text: string): void;
	close?(name: string): void;
}

/** Reads parts of the zip through saxes, each bounded by its inflated size. */
class PartReader {
	constructor(
		private readonly zip: ZipFile,
		private readonly entries: Map<string, Entry>,
		private readonly limits: XlsxLimits
	) {}

	/** Checks a part's declared sizes before it is inflated; yauzl then holds it to them. */
	private entry(path: string, maxBytes: number): Entry | null {
		const entry = this.entries.get(path);
		if (!entry) return null;
		if (entry.uncompressedSize > maxBytes) {
			throw new XlsxError(`The workbook's part ${path} unpacks to ${MB(entry.uncompressedSize)}, more than the ${MB(maxBytes)} read; split the sheet, or save it as CSV UTF-8 and import that.`);
		}
		if (entry.uncompressedSize > 10 * 1024 * 1024 && entry.uncompressedSize > entry.compressedSize * this.limits.maxRatio) {
			throw new XlsxError(
				`The workbook's part ${path} unpacks from ${MB(entry.compressedSize)} to ${MB(entry.uncompressedSize)}, a ratio no spreadsheet has (a "zip bomb"); it is not read.`
			);
		}
		return entry;
	}

	/** Streams one part through saxes; yields after each chunk so the caller can take what the handlers made. */
	async *stream(path: string, maxBytes: number, handlers: PartHandlers, fraction?: (done: number) => void): AsyncGenerator<void> {
		const entry = this.entry(path, maxBytes);
		if (!entry) return;
		const parser = new SaxesParser({ xmlns: false, position: false });
		let failure: Error | null = null;
		let depth = 0;
		parser.on('doctype', () => (failure ??= new XlsxError(`The workbook's part ${path} declares a DOCTYPE; declarations (and the entities they could define) are not accepted.`)));
		parser.on('error', (error) => (failure ??= new XlsxError(`The workbook's part ${path} is not well-formed XML (${error.message}); the file is damaged.`)));
		parser.on('opentag', (tag) => {
			if (++depth > 64) failure ??= new XlsxError(`The workbook's part ${path} nests elements more than 64 deep; it is not a spreadsheet.`);
			if (failure) return;
			try {
				handlers.open?.(tag as SaxesTagPlain);
			} catch (error) {
				failure ??= error as Error;
			}
		});
		const onText = (text: string) => {
			if (failure) return;
			try {
				handlers.text?.(text);
			} catch (error) {
				failure ??= error as Error;
			}
		};
		parser.on('text', onText);
		parser.on('cdata', onText);
		parser.on('closetag', (tag) => {
			depth--;
			if (failure) return;
			try {
				handlers.close?.(tag.name);
			} catch (error) {
				failure ??= error as Error;
			}
		});
		let stream;
		try {
			stream = await this.zip.openReadStreamPromise(entry);
		} catch (error) {
			throw new XlsxError(`The workbook's part ${path} cannot be read (${(error as Error).message}); the file is damaged.`);
		}
		const decoder = new StringDecoder('utf8');
		let done = 0;
		let first = true;
		try {
			for await (const chunk of stream) {
				let bytes = chunk as Buffer;
				if (first) {
					first = false;
					if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
				}
				done += (chunk as Buffer).byteLength;
				parser.write(decoder.write(bytes));
				if (failure) throw failure;
				fraction?.(entry.uncompressedSize > 0 ? Math.min(1, done / entry.uncompressedSize) : 1);
				yield;
			}
			parser.write(decoder.end());
			parser.close();
			if (failure) throw failure;
			yield;
		} catch (error) {
			if (error instanceof XlsxError) throw error;
			// yauzl's size check, or zlib: the part inflates to other than it says, or is cut.
			throw new XlsxError(`The workbook's part ${path} cannot be unpacked (${(error as Error).message}); the file is damaged or cut off.`);
		} finally {
			// Also when the reader stops early (a cancel, a refusal): the file's handle is released.
			stream.destroy();
		}
	}

	/** Reads a whole small part through its handlers. */
	async parse(path: string, maxBytes: number, handlers: PartHandlers): Promise<void> {
		for await (const _ of this.stream(path, maxBytes, handlers));
	}

	/** A part's relationships: id, type and the target resolved against `from`. */
	async relationships(path: string, from: string): Promise<Array<{ id: string; type: string; target: string }>> {
		const found: Array<{ id: string; type: string; target: string }> = [];
		await this.parse(path, this.limits.maxPartBytes, {
			open(tag) {
				if (local(tag.name) !== 'Relationship' || tag.attributes.TargetMode === 'External' || found.length >= 10_000) return;
				found.push({ id: String(tag.attributes.Id ?? ''), type: String(tag.attributes.Type ?? ''), target: resolvePart(from, String(tag.attributes.Target ?? '')) });
			}
		});
		return found;
	}
}
