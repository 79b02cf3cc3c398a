/** The file formats of export and import, shared by the API routes, the server and the import page. */
export const EXPORT_FORMATS = ['csv', 'json', 'xml', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const IMPORT_FORMATS = ['csv', 'tsv', 'json', 'xml'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** The import format a file name suggests (`clients.TSV` → tsv), or null. */
export function importFormatOfName(name: string): ImportFormat | null {
	const extension = /\.([a-z]+)$/i.exec(name)?.[1]?.toLowerCase();
	if (extension === 'txt') return 'tsv';
	return (IMPORT_FORMATS as readonly string[]).includes(extension ?? '') ? (extension as ImportFormat) : null;
}
