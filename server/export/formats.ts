/**
 * The four export formats, each written record by record so an export of any size is
 * streamed with flat memory:
 * - CSV: UTF-8 with a BOM (Excel on Chinese Windows otherwise reads it as GBK and
 *   garbles it), CRLF lines, cells quoted by papaparse, and formula injection
 *   neutralised (src/lib/io/mapping.ts `neutraliseCell`);
 * - XLSX: the same columns in a minimal Office Open XML workbook (one sheet, inline
 *   strings so no shared-string table has to be built first), zipped by fflate as it goes;
 * - JSON: an array of records in the document format's plain JSON (`readRecord`);
 * - XML: one `<record>` element per record, built by fast-xml-parser's XMLBuilder.
 * The header of CSV and XLSX is the field keys (`name`, `company`…), not labels in one
 * language: the same file reads the same for everyone, and the import maps keys and
 * English and Chinese labels alike.
 */
import Papa from 'papaparse';
import { XMLBuilder } from 'fast-xml-parser';
import { Zip, ZipDeflate } from 'fflate';
import { FIELD_KEYS, CUSTOM_FIELD_PREFIX, type Scalar } from '../../src/lib/model/schema.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import { neutraliseCell } from '../../src/lib/io/mapping.ts';

export { EXPORT_FORMATS, type ExportFormat } from '../../src/lib/io/formats.ts';
import type { ExportFormat } from '../../src/lib/io/formats.ts';

export const CONTENT_TYPES: Record<ExportFormat, string> = {
	csv: 'text/csv; charset=utf-8',
	json: 'application/json; charset=utf-8',
	xml: 'application/xml; charset=utf-8',
	xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
};

/** Columns of CSV and XLSX: the id, every schema field, tags, notes, custom fields as one JSON cell, then facts an import does not store. */
export const TABLE_COLUMNS = ['id', ...FIELD_KEYS, 'tags', 'notes', 'custom', 'archived', 'createdAt', 'createdBy'] as const;

/**
 * A table's columns: every column (TABLE_COLUMNS), or, for a view's export, the record's
 * id and the view's fields in its order, custom fields each in a column of its own. The id
 * stays first so that the file imports back onto the same records.
 */
export function tableColumns(chosen?: readonly string[]): readonly string[] {
	return chosen && chosen.length > 0 ? ['id', ...chosen.filter((key) => key !== 'id')] : TABLE_COLUMNS;
}

function tableRow(record: CustomerRecord, columns: readonly string[]): Array<string | number | boolean> {
	const custom = columns === TABLE_COLUMNS ? Object.fromEntries(Object.entries(record.fields).filter(([key]) => key.startsWith(CUSTOM_FIELD_PREFIX))) : {};
	return columns.map((column) => {
		switch (column) {
			case 'id':
				return record.id;
			case 'tags':
				return record.tags.join(', ');
			case 'notes':
				return record.notes;
			case 'custom':
				return Object.keys(custom).length > 0 ? JSON.stringify(custom) : '';
			case 'archived':
				return record.meta.archived;
			case 'createdAt':
				return record.meta.createdAt;
			case 'createdBy':
				return record.meta.createdBy;
			default: {
				const value: Scalar | undefined = record.fields[column];
				return value === null || value === undefined ? '' : value;
			}
		}
	});
}

const encoder = new TextEncoder();

/** Records per CSV chunk handed to papaparse (and per chunk of bytes sent). */
const CSV_CHUNK = 200;

async function* csv(records: AsyncIterable<CustomerRecord>, columns: readonly string[]): AsyncGenerator<Uint8Array> {
	yield encoder.encode(`\ufeff${Papa.unparse([[...columns]], { newline: '\r\n' })}\r\n`);
	let rows: Array<Array<string | number | boolean>> = [];
	const flush = () => {
		const text = Papa.unparse(rows, { newline: '\r\n', escapeFormulae: false });
		rows = [];
		return encoder.encode(`${text}\r\n`);
	};
	for await (const record of records) {
		rows.push(tableRow(record, columns).map((cell) => (typeof cell === 'string' ? neutraliseCell(cell) : cell)));
		if (rows.length >= CSV_CHUNK) yield flush();
	}
	if (rows.length > 0) yield flush();
}

async function* json(records: AsyncIterable<CustomerRecord>): AsyncGenerator<Uint8Array> {
	let first = true;
	yield encoder.encode('[');
	for await (const record of records) {
		yield encoder.encode(`${first ? '\n' : ',\n'}${JSON.stringify(record)}`);
		first = false;
	}
	yield encoder.encode('\n]\n');
}

/** Characters XML 1.0 cannot hold at all (C0 controls but tab and line breaks, lone surrogates, U+FFFE/FFFF). */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;
const xmlText = (value: string): string => value.replace(NOT_XML, '\ufffd');

async function* xml(records: AsyncIterable<CustomerRecord>): AsyncGenerator<Uint8Array> {
	const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: false, suppressEmptyNode: true });
	yield encoder.encode('<?xml version="1.0" encoding="UTF-8"?>\n<records>\n');
	for await (const record of records) {
		const element: Record<string, unknown> = { '@_id': record.id, '@_archived': String(record.meta.archived) };
		for (const [key, value] of Object.entries(record.fields)) if (value !== null) element[key] = typeof value === 'string' ? xmlText(value) : String(value);
		element.tags = { tag: record.tags.map(xmlText) };
		if (record.notes) element.notes = xmlText(record.notes);
		element.createdAt = record.meta.createdAt;
		element.createdBy = xmlText(record.meta.createdBy);
		yield encoder.encode(`${builder.build({ record: element })}\n`);
	}
	yield encoder.encode('</records>\n');
}

const escapeXml = (text: string): string =>
	xmlText(text).replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch]!);

/** A1-style column letters: 0 → A, 25 → Z, 26 → AA. */
function columnName(index: number): string {
	let name = '';
	for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
	return name;
}

function sheetRow(cells: ReadonlyArray<string | number | boolean>, row: number): string {
	const parts = cells.map((cell, i) => {
		const ref = `${columnName(i)}${row}`;
		if (typeof cell === 'number') return `<c r="${ref}"><v>${cell}</v></c>`;
		if (typeof cell === 'boolean') return `<c r="${ref}" t="b"><v>${cell ? 1 : 0}</v></c>`;
		if (cell === '') return '';
		// Excel keeps at most 32,767 characters in a cell; longer notes are cut there (the JSON export keeps them whole).
		return `<c r="${ref}" t="inlineStr"><is><t xml:space="preserve">${escapeXml(cell.slice(0, 32_767))}</t></is></c>`;
	});
	return `<row r="${row}">${parts.join('')}</row>`;
}

const XLSX_PARTS: Record<string, string> = {
	'[Content_Types].xml':
		'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
	'_rels/.rels':
		'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
	'xl/workbook.xml':
		'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Records" sheetId="1" r:id="rId1"/></sheets></workbook>',
	'xl/_rels/workbook.xml.rels':
		'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
};

/**
 * A workbook streamed: the fixed parts first, then the sheet deflated row by row. Rows
 * are written as inline strings, which Excel, LibreOffice and every reader accept,
 * so nothing has to be collected before the first byte goes out.
 */
async function* xlsx(records: AsyncIterable<CustomerRecord>, columns: readonly string[]): AsyncGenerator<Uint8Array> {
	const out: Uint8Array[] = [];
	let failure: Error | null = null;
	const zip = new Zip((error, chunk) => {
		if (error) failure = error;
		else out.push(chunk);
	});
	for (const [name, content] of Object.entries(XLSX_PARTS)) {
		const file = new ZipDeflate(name, { level: 6 });
		zip.add(file);
		file.push(encoder.encode(content), true);
	}
	const sheet = new ZipDeflate('xl/worksheets/sheet1.xml', { level: 6 });
	zip.add(sheet);
	sheet.push(
		encoder.encode(
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${sheetRow(columns, 1)}`
		)
	);
	let row = 1;
	let pending: string[] = [];
	const drain = function* (): Generator<Uint8Array> {
		if (failure) throw failure;
		yield* out.splice(0);
	};
	for await (const record of records) {
		pending.push(sheetRow(tableRow(record, columns), ++row));
		if (pending.length >= CSV_CHUNK) {
			sheet.push(encoder.encode(pending.join('')));
			pending = [];
			yield* drain();
		}
	}
	sheet.push(encoder.encode(`${pending.join('')}</sheetData></worksheet>`), true);
	zip.end();
	yield* drain();
}

/**
 * The file, written as `records` come. `columns` (a view's) shapes the tables (CSV, Excel);
 * JSON and XML always carry whole records: they are the formats for moving records
 * between systems, contacts, activities and notes included, which no list column shows.
 */
export function writeExport(format: ExportFormat, records: AsyncIterable<CustomerRecord>, columns?: readonly string[]): AsyncGenerator<Uint8Array> {
	switch (format) {
		case 'csv':
			return csv(records, tableColumns(columns));
		case 'json':
			return json(records);
		case 'xml':
			return xml(records);
		case 'xlsx':
			return xlsx(records, tableColumns(columns));
	}
}
