/**
 * From an uploaded file's bytes to rows of cells, a chunk at a time: the bytes are
 * counted against the size limit, their encoding detected from the first 64 KB (see
 * src/lib/io/encoding.ts) and decoded by `TextDecoder` as they arrive, and the text is
 * read by the format's streaming parser: papaparse (CSV/TSV, any delimiter, quoted
 * line breaks), @streamparser/json (an array of records, element by element) or saxes
 * (XML, element by element, with no DTD and so no entity expansion of any kind). No
 * format holds the whole file, so memory stays flat whatever the file's length.
 */
import { Readable } from 'node:stream';
import Papa from 'papaparse';
import { JSONParser } from '@streamparser/json';
import { SaxesParser } from 'saxes';
import { DETECTION_SAMPLE_BYTES, detectEncoding, type DetectedEncoding, type ImportEncoding } from '../../src/lib/io/encoding.ts';
import { restoreCell } from '../../src/lib/io/mapping.ts';
import { DEFAULT_XLSX_LIMITS, Workbook, XlsxError, type XlsxRow } from './xlsx.ts';

export { IMPORT_FORMATS, type ImportFormat } from '../../src/lib/io/formats.ts';
import type { ImportFormat } from '../../src/lib/io/formats.ts';

/** A cell as read: text from CSV and XML; JSON also gives numbers, booleans, null and lists (tags). */
export type Cell = string | number | boolean | null | string[];

export interface ReadRow {
	/** The row as a spreadsheet numbers it (the header is row 1), or the record's place in a JSON array or XML file (from 1). */
	row: number;
	cells: Map<string, Cell>;
}

/** Bounds on what one file may hold; each has its own clear refusal. */
export interface ReadLimits {
	maxBytes: number;
	maxColumns: number;
	/** Longest cell, in characters (the notes may have 100,000). */
	maxCellChars: number;
	maxRows: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
	maxBytes: 200 * 1024 * 1024,
	maxColumns: 500,
	maxCellChars: 100_000,
	maxRows: 1_000_000
};

/** The file cannot be read (as a whole, or from `row` on); nothing after that point is imported. */
export class UnreadableFileError extends Error {
	override readonly name = 'UnreadableFileError';
	/** A workbook's sheets, when it opened: the import page offers them, so another sheet can be chosen. */
	sheets: string[] | null = null;
	constructor(
		message: string,
		readonly row: number | null = null
	) {
		super(message);
	}
}

/** The file is larger than the limit; answered with 413. */
export class FileTooLargeError extends Error {
	override readonly name = 'FileTooLargeError';
	constructor(readonly limitBytes: number) {
		super(`The file is larger than the import limit of ${Math.round(limitBytes / 1024 / 1024)} MB (${limitBytes} bytes); split it into smaller files.`);
	}
}

export interface DecodedText {
	encoding: DetectedEncoding;
	text: AsyncIterable<string>;
}

/** Reads just enough bytes to detect the encoding, then decodes the whole stream lazily, counting bytes against the limit. */
export async function decodeBytes(bytes: AsyncIterable<Uint8Array>, maxBytes: number, override: ImportEncoding | null): Promise<DecodedText> {
	const iterator = bytes[Symbol.asyncIterator]();
	const head: Uint8Array[] = [];
	let headLength = 0;
	let total = 0;
	let ended = false;
	while (headLength < DETECTION_SAMPLE_BYTES) {
		const next = await iterator.next();
		if (next.done) {
			ended = true;
			break;
		}
		total += next.value.byteLength;
		if (total > maxBytes) throw new FileTooLargeError(maxBytes);
		head.push(next.value);
		headLength += next.value.byteLength;
	}
	const sample = Buffer.concat(head);
	if (sample.length === 0) throw new UnreadableFileError('The file is empty.');
	const encoding = detectEncoding(sample, ended, override);
	const decoder = new TextDecoder(encoding.encoding, { fatal: false, ignoreBOM: true });
	const first = decoder.decode(sample.subarray(encoding.bomLength), { stream: true });
	// Text files hold no NUL characters (outside UTF-16, where they decode to other characters): this is binary.
	if (first.includes('\u0000')) {
		throw new UnreadableFileError(`The file is not text in ${encoding.encoding}: it holds binary data (NUL bytes). Export it from its program as CSV, JSON or XML.`);
	}
	const replaced = (first.match(/\ufffd/gu) ?? []).length;
	if (first.length > 0 && replaced > Math.max(8, first.length / 20)) {
		throw new UnreadableFileError(
			`The file does not read as ${encoding.encoding} text (${replaced} undecodable characters at its start); choose its encoding by hand, or check that it is a text file.`
		);
	}
	async function* text(): AsyncGenerator<string> {
		if (first) yield first;
		if (!ended) {
			for (;;) {
				const next = await iterator.next();
				if (next.done) break;
				total += next.value.byteLength;
				if (total > maxBytes) throw new FileTooLargeError(maxBytes);
				const chunk = decoder.decode(next.value, { stream: true });
				if (chunk) yield chunk;
			}
		}
		const rest = decoder.decode();
		if (rest) yield rest;
	}
	return { encoding, text: text() };
}

/** A queue between a push parser and the async consumer, which pauses the parser when the consumer falls behind. */
class RowQueue<T> {
	private items: T[] = [];
	private failure: unknown = null;
	private done = false;
	private wake: (() => void) | null = null;
	constructor(
		private readonly high: number,
		private readonly pause: () => void,
		private readonly resume: () => void
	) {}
	push(item: T): void {
		this.items.push(item);
		if (this.items.length >= this.high) this.pause();
		this.signal();
	}
	fail(error: unknown): void {
		this.failure ??= error;
		this.signal();
	}
	end(): void {
		this.done = true;
		this.signal();
	}
	private signal(): void {
		const wake = this.wake;
		this.wake = null;
		wake?.();
	}
	async *drain(): AsyncGenerator<T> {
		for (;;) {
			if (this.items.length > 0) {
				const batch = this.items;
				this.items = [];
				this.resume();
				yield* batch;
				continue;
			}
			if (this.failure) throw this.failure;
			if (this.done) return;
			await new Promise<void>((resolve) => (this.wake = resolve));
		}
	}
}

function checkCell(value: string, row: number, column: string, limits: ReadLimits): string {
	if (value.length > limits.maxCellChars) {
		throw new UnreadableFileError(`Row ${row}, column "${column}": the cell has ${value.length} characters; at most ${limits.maxCellChars} are read.`, row);
	}
	return value;
}

/**
 * CSV or TSV rows through papaparse: the first row is the header, the delimiter is
 * papaparse's guess (comma, tab, semicolon, pipe…) unless given. Each cell's formula
 * escape (an export's leading apostrophe) is undone.
 */
export async function* readDelimited(text: AsyncIterable<string>, options: { delimiter?: string }, limits: ReadLimits): AsyncGenerator<ReadRow> {
	let parser: Papa.Parser | null = null;
	let paused = false;
	const queue = new RowQueue<{ data: string[]; errors: Papa.ParseError[] }>(
		256,
		() => {
			if (!paused && parser) {
				paused = true;
				parser.pause();
			}
		},
		() => {
			if (paused && parser) {
				paused = false;
				parser.resume();
			}
		}
	);
	const input = Readable.from(text, { objectMode: false });
	input.on('error', (error) => queue.fail(error));
	Papa.parse<string[]>(input as unknown as NodeJS.ReadableStream as never, {
		delimiter: options.delimiter ?? '',
		skipEmptyLines: 'greedy',
		step(results, p) {
			parser = p;
			queue.push({ data: results.data, errors: results.errors });
		},
		complete() {
			queue.end();
		},
		error(error: Error) {
			queue.fail(error);
		}
	});
	let headers: string[] | null = null;
	let index = 0;
	for await (const { data, errors } of queue.drain()) {
		index++;
		const row = index;
		const quoteError = errors.find((e) => e.type === 'Quotes');
		if (quoteError) throw new UnreadableFileError(`Row ${row}: a quoted cell is never closed (${quoteError.message}); nothing from this row on can be read.`, row);
		if (headers === null) {
			if (data.length > limits.maxColumns) throw new UnreadableFileError(`The header has ${data.length} columns; at most ${limits.maxColumns} are read.`, 1);
			headers = data.map((header, i) => checkCell(header, 1, `#${i + 1}`, limits).replace(/^\ufeff/u, '').trim() || `#${i + 1}`);
			const seen = new Set<string>();
			headers = headers.map((header) => {
				let unique = header;
				for (let n = 2; seen.has(unique); n++) unique = `${header} (${n})`;
				seen.add(unique);
				return unique;
			});
			continue;
		}
		if (index - 1 > limits.maxRows) throw new UnreadableFileError(`The file has more than ${limits.maxRows} rows; split it into smaller files.`, row);
		const cells = new Map<string, Cell>();
		const columns = Math.min(data.length, headers.length);
		for (let i = 0; i < columns; i++) cells.set(headers[i], restoreCell(checkCell(data[i], row, headers[i], limits)));
		if (data.length > headers.length && data.slice(headers.length).some((cell) => cell.trim() !== '')) {
			cells.set('#extra', `${data.length - headers.length} more cells than the header has columns`);
		}
		yield { row, cells };
	}
	if (headers === null) throw new UnreadableFileError('The file has no header row: it is empty once blank lines are left out.');
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * One JSON record as cells: a record in the document format's plain JSON
 * (`{"id", "fields": {...}, "tags": [...], "notes", ...}`, as exports write it) is
 * flattened to its fields, tags and notes; a flat object (`{"name": ..., "公司": ...}`)
 * is taken as it is, its keys as headers.
 */
function jsonCells(value: unknown, row: number, limits: ReadLimits): Map<string, Cell> {
	if (!isPlainObject(value)) throw new UnreadableFileError(`Record ${row} is not an object; a JSON import is an array of objects such as {"name": "Li Na"}.`, row);
	const cells = new Map<string, Cell>();
	const put = (key: string, cell: unknown): void => {
		if (cells.size >= limits.maxColumns) throw new UnreadableFileError(`Record ${row} has more than ${limits.maxColumns} members.`, row);
		if (cell === null || typeof cell === 'number' || typeof cell === 'boolean') cells.set(key, cell);
		else if (typeof cell === 'string') cells.set(key, checkCell(cell, row, key, limits));
		else if (Array.isArray(cell) && cell.every((item) => typeof item === 'string')) cells.set(key, cell as string[]);
		else cells.set(key, JSON.stringify(cell).slice(0, limits.maxCellChars + 1));
	};
	if (isPlainObject(value.fields)) {
		for (const [key, cell] of Object.entries(value.fields)) put(key, cell);
		for (const key of ['id', 'tags', 'notes'] as const) if (value[key] !== undefined) put(key, value[key]);
		if (isPlainObject(value.meta) && typeof value.meta.archived === 'boolean') put('archived', value.meta.archived);
	} else {
		for (const [key, cell] of Object.entries(value)) put(key, cell);
	}
	return cells;
}

/** A JSON array of records, element by element; or one record (the plain JSON form of a single record). */
export async function* readJson(text: AsyncIterable<string>, limits: ReadLimits): AsyncGenerator<ReadRow> {
	let parser: JSONParser | null = null;
	let pending: unknown[] = [];
	let index = 0;
	let failure: Error | null = null;
	for await (const chunk of text) {
		if (parser === null) {
			const start = chunk.trimStart()[0];
			if (start === undefined) continue;
			if (start !== '[' && start !== '{') throw new UnreadableFileError('The file is not JSON: it must be an array of records ([{...}, ...]) or one record ({...}).');
			parser = new JSONParser({ paths: [start === '[' ? '$.*' : '$'], keepStack: false });
			parser.onValue = ({ value }) => pending.push(value);
			parser.onError = (error) => (failure ??= error);
		}
		try {
			parser.write(chunk);
		} catch (error) {
			failure ??= error as Error;
		}
		const values = pending;
		pending = [];
		for (const value of values) {
			index++;
			if (index > limits.maxRows) throw new UnreadableFileError(`The file has more than ${limits.maxRows} records; split it into smaller files.`, index);
			yield { row: index, cells: jsonCells(value, index, limits) };
		}
		if (failure) throw new UnreadableFileError(`The JSON is not well-formed after record ${index}: ${(failure as Error).message}`, index + 1);
	}
	if (parser === null) throw new UnreadableFileError('The file is empty.');
	if (!parser.isEnded) {
		try {
			parser.end();
		} catch {
			// Reported below.
		}
		if (!parser.isEnded || failure) throw new UnreadableFileError(`The JSON ends early, after record ${index}: the file is cut off.`, index + 1);
	}
	if (index === 0) throw new UnreadableFileError('The JSON holds no records.');
}

/**
 * XML with one element per record under the root (`<records><record id="…"><name>…</name>
 * <tags><tag>…</tag></tags></record>…</records>`, as exports write it): each child
 * element's text is a cell named by the element, `<tags>` a list. A DOCTYPE (and so any
 * entity declaration) is refused outright; saxes expands no external entities anyway.
 */
export async function* readXml(text: AsyncIterable<string>, limits: ReadLimits): AsyncGenerator<ReadRow> {
	const parser = new SaxesParser({ xmlns: false, position: true });
	const ready: ReadRow[] = [];
	let failure: UnreadableFileError | null = null;
	let depth = 0;
	let index = 0;
	let current: Map<string, Cell> | null = null;
	let field: string | null = null;
	let listItem = false;
	let buffer = '';
	const fail = (message: string, row: number | null = index || null): void => {
		failure ??= new UnreadableFileError(message, row);
	};
	parser.on('doctype', () => fail('The XML declares a DOCTYPE; declarations (and the entities they could define) are not accepted. Remove the <!DOCTYPE …> line.', 0));
	parser.on('error', (error) => fail(`The XML is not well-formed: ${error.message}`));
	parser.on('opentag', (tag) => {
		depth++;
		if (depth === 2) {
			index++;
			current = new Map();
			for (const [name, value] of Object.entries(tag.attributes)) current.set(name, String(value));
		} else if (depth === 3 && current) {
			field = tag.name;
			buffer = '';
			if (current.size >= limits.maxColumns) fail(`Record ${index} has more than ${limits.maxColumns} elements.`);
		} else if (depth === 4 && current && field === 'tags') {
			listItem = true;
			buffer = '';
		}
	});
	parser.on('text', (value) => {
		if ((depth === 3 && field) || listItem) {
			buffer += value;
			if (buffer.length > limits.maxCellChars) fail(`Record ${index}, element <${field}>: more than ${limits.maxCellChars} characters.`);
		}
	});
	parser.on('cdata', (value) => {
		if ((depth === 3 && field) || listItem) buffer += value;
	});
	parser.on('closetag', () => {
		if (depth === 4 && listItem && current && field === 'tags') {
			const tags = current.get('tags');
			const list = Array.isArray(tags) ? tags : [];
			list.push(buffer);
			current.set('tags', list);
			listItem = false;
		} else if (depth === 3 && current && field) {
			if (field === 'tags') {
				if (!current.has('tags')) current.set('tags', buffer.trim() ? buffer : []);
			} else current.set(field, buffer);
			field = null;
		} else if (depth === 2 && current) {
			ready.push({ row: index, cells: current });
			current = null;
		}
		depth--;
	});
	/** Records finished so far, up to the one where the XML broke (a DOCTYPE at the top: none). */
	function* complete(): Generator<ReadRow> {
		const failed: UnreadableFileError | null = failure;
		const rows = ready.splice(0);
		for (const row of rows) if (!failed || failed.row === null || row.row < failed.row) yield row;
		if (failed) throw failed;
	}
	let any = false;
	for await (const chunk of text) {
		if (!any && chunk.trim()) any = true;
		parser.write(chunk);
		if (index > limits.maxRows) fail(`The file has more than ${limits.maxRows} records; split it into smaller files.`);
		yield* complete();
	}
	if (!any) throw new UnreadableFileError('The file is empty.');
	parser.close();
	yield* complete();
	if (index === 0) throw new UnreadableFileError('The XML holds no records: put one element per record under the root element.');
}

/** Which sheet of a workbook, and which of its rows holds the column names (1-based, as Excel numbers it); the guess when absent. */
export interface WorkbookChoice {
	sheet?: string | null;
	headerRow?: number | null;
}

/** What was read from a workbook: its sheets (for the import page to offer), the one read, and its header row. */
export interface WorkbookRead {
	sheets: string[];
	sheet: string;
	headerRow: number;
	/** Whether the header row was guessed (true) or named. */
	headerGuessed: boolean;
}

/** Non-empty rows looked at for the header when none is named: a title or a note above the table is common. */
const HEADER_SCAN_ROWS = 10;

/**
 * The header among a sheet's first rows: the first row of text cells at least half as
 * wide as the widest of them (a title such as "客户名单 2026" above the table has one
 * cell, a row of data has numbers); the first row when none is.
 */
export function guessHeaderRow(rows: readonly XlsxRow[]): XlsxRow | null {
	if (rows.length === 0) return null;
	const widest = Math.max(...rows.map((row) => row.cells.size));
	const wanted = Math.max(2, Math.ceil(widest / 2));
	for (const row of rows) {
		const texts = [...row.cells.values()].filter((cell) => !cell.numeric).length;
		if (row.cells.size >= wanted && texts >= Math.ceil(row.cells.size * 0.8)) return row;
	}
	return rows[0];
}

/** The sheet named (by name, or its place from 1); else the first visible sheet with a header and a row under it (a notes sheet first in the workbook is passed over). */
async function pickSheet(workbook: Workbook, wanted: string | null | undefined) {
	const sheets = workbook.sheets;
	if (wanted === null || wanted === undefined || wanted.trim() === '') {
		const visible = sheets.filter((sheet) => !sheet.hidden);
		for (const sheet of visible) if (await workbook.hasRows(sheet, 2)) return sheet;
		return visible[0] ?? sheets[0];
	}
	const name = wanted.trim();
	const found =
		sheets.find((sheet) => sheet.name === name) ??
		sheets.find((sheet) => sheet.name.toLowerCase() === name.toLowerCase()) ??
		(/^\d+$/.test(name) ? sheets[Number(name) - 1] : undefined);
	if (!found) throw new UnreadableFileError(`The workbook has no sheet "${name.slice(0, 100)}"; its sheets are ${sheets.map((sheet) => `"${sheet.name}"`).join(', ')}.`);
	return found;
}

/**
 * An `.xlsx` file's rows (server/import/xlsx.ts), as the other formats give them: the
 * header row's cells name the columns (empty ones `#n`, repeated ones numbered), rows
 * above it are left out, each later row a ReadRow numbered as Excel numbers it. `told`
 * hears the sheets, the sheet read and the header row before the first row comes.
 */
export async function* readXlsx(
	file: string,
	choice: WorkbookChoice,
	limits: ReadLimits,
	told: (read: WorkbookRead) => void,
	fraction?: (done: number) => void
): AsyncGenerator<ReadRow> {
	let workbook: Workbook;
	try {
		workbook = await Workbook.open(file, { ...DEFAULT_XLSX_LIMITS, maxColumns: limits.maxColumns, maxCellChars: limits.maxCellChars });
	} catch (error) {
		throw error instanceof XlsxError ? new UnreadableFileError(error.message, error.row) : error;
	}
	try {
		const sheet = await pickSheet(workbook, choice.sheet);
		const named = choice.headerRow ?? null;
		if (named !== null && (!Number.isInteger(named) || named < 1 || named > 1_048_576)) {
			throw new UnreadableFileError(`The header row must be a row number from 1 to 1,048,576, not ${named}.`);
		}
		const scanned: XlsxRow[] = [];
		let header: XlsxRow | null = null;
		let headers: string[] = [];
		let index = 0;
		const startWith = (row: XlsxRow): void => {
			header = row;
			const width = row.width;
			if (width > limits.maxColumns) throw new UnreadableFileError(`Row ${row.row} of sheet "${sheet.name}" (its header) has ${width} columns; at most ${limits.maxColumns} are read.`, row.row);
			const seen = new Set<string>();
			headers = Array.from({ length: width }, (_, i) => {
				const base = row.cells.get(i)?.text.trim() || `#${i + 1}`;
				let unique = base;
				for (let n = 2; seen.has(unique); n++) unique = `${base} (${n})`;
				seen.add(unique);
				return unique;
			});
			told({ sheets: workbook.sheets.map((s) => s.name), sheet: sheet.name, headerRow: row.row, headerGuessed: named === null });
		};
		const asRead = (row: XlsxRow): ReadRow => {
			index++;
			if (index > limits.maxRows) throw new UnreadableFileError(`Sheet "${sheet.name}" has more than ${limits.maxRows} rows; split it into smaller files.`, row.row);
			const cells = new Map<string, Cell>();
			let extra = row.width > headers.length && row.cells.size === 0 ? 1 : 0;
			for (const [column, cell] of row.cells) {
				if (column < headers.length) cells.set(headers[column], cell.text);
				else if (cell.text.trim() !== '') extra++;
			}
			if (extra === 0 && row.width > headers.length) extra = 1;
			if (extra > 0) cells.set('#extra', `${extra} more cells than the header has columns`);
			return { row: row.row, cells };
		};
		try {
			for await (const row of workbook.rows(sheet, fraction)) {
				if (header === null) {
					if (named !== null) {
						if (row.row < named) continue;
						if (row.row > named) throw new UnreadableFileError(`Row ${named} of sheet "${sheet.name}" is empty; choose the row that holds the column names.`, named);
						startWith(row);
						continue;
					}
					scanned.push(row);
					if (scanned.length < HEADER_SCAN_ROWS) continue;
					const guessed = guessHeaderRow(scanned)!;
					startWith(guessed);
					for (const later of scanned.filter((r) => r.row > guessed.row)) yield asRead(later);
					scanned.length = 0;
					continue;
				}
				yield asRead(row);
			}
		} catch (error) {
			throw error instanceof XlsxError ? new UnreadableFileError(error.message, error.row) : error;
		}
		if (header === null && scanned.length > 0) {
			const guessed = guessHeaderRow(scanned)!;
			startWith(guessed);
			for (const later of scanned.filter((r) => r.row > guessed.row)) yield asRead(later);
		}
		if (header === null) {
			throw new UnreadableFileError(named === null ? `Sheet "${sheet.name}" is empty.` : `Sheet "${sheet.name}" has no row ${named}: it ends before it.`);
		}
		if (index === 0) throw new UnreadableFileError(`Sheet "${sheet.name}" has its column names in row ${(header as XlsxRow).row} but no rows under them.`, (header as XlsxRow).row);
	} catch (error) {
		const failure = error instanceof XlsxError ? new UnreadableFileError(error.message, error.row) : error;
		if (failure instanceof UnreadableFileError) failure.sheets = workbook.sheets.map((sheet) => sheet.name);
		throw failure;
	} finally {
		workbook.close();
	}
}
