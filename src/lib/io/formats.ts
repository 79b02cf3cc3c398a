/** The file formats of export and import, shared by the API routes, the server and the import page. */
export const EXPORT_FORMATS = ['csv', 'json', 'xml', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const IMPORT_FORMATS = ['csv', 'tsv', 'json', 'xml', 'xlsx'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** Most columns an export may name (a view's columns and its name). */
export const MAX_EXPORT_COLUMNS = 50;

/**
 * An export's `columns=` (a view's columns, comma-separated field keys): each must be a
 * field of the workspace (`known`), named once; the result is in the order given.
 * Tables (CSV, Excel) then hold the record's id and these columns only.
 */
export function readExportColumns(text: string, known: ReadonlySet<string>): { ok: true; columns: string[] } | { ok: false; message: string } {
	const keys = text
		.split(',')
		.map((key) => key.trim())
		.filter((key) => key !== '' && key !== 'id');
	if (keys.length === 0) return { ok: false, message: 'columns names no field; give field keys separated by commas, such as columns=name,company,stage.' };
	if (keys.length > MAX_EXPORT_COLUMNS) return { ok: false, message: `columns names ${keys.length} fields; at most ${MAX_EXPORT_COLUMNS} can be exported as columns.` };
	const unknown = keys.find((key) => !known.has(key));
	if (unknown !== undefined) return { ok: false, message: `columns: this workspace has no field "${unknown.slice(0, 60)}".` };
	return { ok: true, columns: [...new Set(keys)] };
}

/** The import format a file name suggests (`clients.TSV` → tsv), or null. */
export function importFormatOfName(name: string): ImportFormat | null {
	const extension = /\.([a-z]+)$/i.exec(name)?.[1]?.toLowerCase();
	if (extension === 'txt') return 'tsv';
	return (IMPORT_FORMATS as readonly string[]).includes(extension ?? '') ? (extension as ImportFormat) : null;
}

/**
 * What an import does with a row that matches a record already there: leave it out
 * (`skip`), write its values over the record's (`update`), merge it into the record as
 * the duplicates page does (`merge`: the record keeps its values, the row fills the
 * gaps), or create it regardless (`create`).
 */
export const DUPLICATE_POLICIES = ['skip', 'update', 'merge', 'create'] as const;
export type DuplicatePolicy = (typeof DUPLICATE_POLICIES)[number];

/** Keys a row is matched on: an Accord id column (an export's), email, phone, website domain. */
export const MATCH_KINDS = ['id', 'email', 'phone', 'domain'] as const;
export type MatchKind = (typeof MATCH_KINDS)[number];
