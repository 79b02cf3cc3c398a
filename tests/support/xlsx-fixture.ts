/**
 * Excel workbooks for the import tests, built at test time as Excel itself lays them
 * out, with fflate (a different zip library from the reader's yauzl, and XML written
 * here, not by the reader's code): the parts in Excel's order (every sheet before the
 * shared strings, so a reader that streams the zip in order cannot resolve them),
 * shared strings with rich-text runs and phonetic guides, a styles part whose number
 * formats make some numbers dates (built-in 14 and a custom `yyyy"年"m"月"d"日"`), a
 * second sheet, and rows that need not start at row 1.
 */
import { zipSync, strToU8, type Zippable } from 'fflate';

/** A cell: text (shared unless `inline`), a number, a date (written as Excel's serial number with a date style), a boolean, or a formula's cached text. */
export type FixtureCell = string | number | boolean | Date | { inline: string } | { formula: string; text: string } | { rich: string[]; phonetic?: string } | null;

export interface FixtureSheet {
	name: string;
	/** Rows by their sheet row number (1-based); cells from column A. */
	rows: Array<{ row: number; cells: FixtureCell[] }>;
	hidden?: boolean;
}

const escape = (text: string): string => text.replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch]!);

function column(index: number): string {
	let name = '';
	for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
	return name;
}

/** Excel's 1900 date serial of a UTC date (after 1 March 1900). */
export function serialOf(date: Date): number {
	return (date.getTime() - Date.UTC(1899, 11, 30)) / 86_400_000;
}

export interface FixtureOptions {
	/** Write the 1904 date system. */
	date1904?: boolean;
	/** Leave the parts' order as Excel's (sheets before shared strings); false puts shared strings first. */
	excelOrder?: boolean;
	/** Prefix SpreadsheetML's elements with `x:` as some .NET writers do. */
	prefixed?: boolean;
}

/** The bytes of an .xlsx workbook holding `sheets`. */
export function buildXlsx(sheets: FixtureSheet[], options: FixtureOptions = {}): Uint8Array {
	const shared: string[] = [];
	const sharedIndex = new Map<string, number>();
	const p = options.prefixed ? 'x:' : '';
	const ns = options.prefixed ? 'xmlns:x' : 'xmlns';
	const share = (xml: string): number => {
		let index = sharedIndex.get(xml);
		if (index === undefined) {
			index = shared.length;
			shared.push(xml);
			sharedIndex.set(xml, index);
		}
		return index;
	};
	const sheetXml = sheets.map((sheet) => {
		const rows = sheet.rows.map(({ row, cells }) => {
			const xml = cells
				.map((cell, i) => {
					const ref = `${column(i)}${row}`;
					if (cell === null) return '';
					if (typeof cell === 'string') return `<${p}c r="${ref}" t="s"><${p}v>${share(`<${p}t xml:space="preserve">${escape(cell)}</${p}t>`)}</${p}v></${p}c>`;
					if (typeof cell === 'number') return `<${p}c r="${ref}"><${p}v>${cell}</${p}v></${p}c>`;
					if (typeof cell === 'boolean') return `<${p}c r="${ref}" t="b"><${p}v>${cell ? 1 : 0}</${p}v></${p}c>`;
					if (cell instanceof Date) {
						const serial = options.date1904 ? (cell.getTime() - Date.UTC(1904, 0, 1)) / 86_400_000 : serialOf(cell);
						// Style 1: built-in date format 14; style 2: the custom Chinese date format.
						return `<${p}c r="${ref}" s="${i % 2 === 0 ? 1 : 2}"><${p}v>${serial}</${p}v></${p}c>`;
					}
					if ('inline' in cell) return `<${p}c r="${ref}" t="inlineStr"><${p}is><${p}t>${escape(cell.inline)}</${p}t></${p}is></${p}c>`;
					if ('formula' in cell) return `<${p}c r="${ref}" t="str"><${p}f>${escape(cell.formula)}</${p}f><${p}v>${escape(cell.text)}</${p}v></${p}c>`;
					const runs = cell.rich.map((run) => `<${p}r><${p}rPr><${p}b/></${p}rPr><${p}t xml:space="preserve">${escape(run)}</${p}t></${p}r>`).join('');
					const phonetic = cell.phonetic ? `<${p}rPh sb="0" eb="1"><${p}t>${escape(cell.phonetic)}</${p}t></${p}rPh>` : '';
					return `<${p}c r="${ref}" t="s"><${p}v>${share(runs + phonetic)}</${p}v></${p}c>`;
				})
				.join('');
			return `<${p}row r="${row}">${xml}</${p}row>`;
		});
		return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<${p}worksheet ${ns}="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><${p}dimension ref="A1"/><${p}sheetData>${rows.join('')}</${p}sheetData></${p}worksheet>`;
	});
	const parts: Array<[string, string]> = [
		[
			'[Content_Types].xml',
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>${sheets.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join('')}<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>`
		],
		[
			'_rels/.rels',
			'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
		],
		[
			'xl/workbook.xml',
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><${p}workbook ${ns}="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><${p}workbookPr${options.date1904 ? ' date1904="1"' : ''}/><${p}sheets>${sheets.map((sheet, i) => `<${p}sheet name="${escape(sheet.name)}" sheetId="${i + 1}"${sheet.hidden ? ' state="hidden"' : ''} r:id="rId${i + 1}"/>`).join('')}</${p}sheets></${p}workbook>`
		],
		[
			'xl/_rels/workbook.xml.rels',
			`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join('')}<Relationship Id="rId${sheets.length + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId${sheets.length + 2}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="/xl/sharedStrings.xml"/></Relationships>`
		]
	];
	const sheetParts: Array<[string, string]> = sheetXml.map((xml, i) => [`xl/worksheets/sheet${i + 1}.xml`, xml]);
	const styles: [string, string] = [
		'xl/styles.xml',
		`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><${p}styleSheet ${ns}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><${p}numFmts count="1"><${p}numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></${p}numFmts><${p}cellXfs count="3"><${p}xf numFmtId="0"/><${p}xf numFmtId="14" applyNumberFormat="1"/><${p}xf numFmtId="176" applyNumberFormat="1"/></${p}cellXfs></${p}styleSheet>`
	];
	const sharedPart: [string, string] = [
		'xl/sharedStrings.xml',
		`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><${p}sst ${ns}="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="${shared.length}" uniqueCount="${shared.length}">${shared.map((si) => `<${p}si>${si}</${p}si>`).join('')}</${p}sst>`
	];
	const ordered = options.excelOrder === false ? [...parts, sharedPart, styles, ...sheetParts] : [...parts, ...sheetParts, styles, sharedPart];
	const zippable: Zippable = {};
	for (const [name, xml] of ordered) zippable[name] = strToU8(xml);
	return zipSync(zippable, { level: 6 });
}
