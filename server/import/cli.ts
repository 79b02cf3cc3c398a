/**
 * `npm run accord -- import FILE …` and `export --format=… FILE`: the same import and
 * export the server runs, straight on the database (with the server stopped when the
 * embedded database is in use). The command line acts as an admin of the workspace,
 * named "Command line" in the audit log; the import's summary is printed as JSON, its
 * last line. Values are checked against the workspace's field definitions as stored;
 * the update and merge policies go through the records' documents as the server's do
 * (loaded here, with a bus of this process only).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Actor } from '../../src/lib/access.ts';
import { parseEncodingName } from '../../src/lib/io/encoding.ts';
import { EXPORT_FORMATS, IMPORT_FORMATS, importFormatOfName, readExportColumns, type ExportFormat, type ImportFormat } from '../../src/lib/io/formats.ts';
import { defaultSortDirection, readListSort } from '../../src/lib/records/sort.ts';
import type { ColumnMapping } from '../../src/lib/io/mapping.ts';
import { parseQuery } from '../../src/lib/search/query.ts';
import * as Y from 'yjs';
import { fieldsDocumentId, readCatalog, BUILTIN_CATALOG, type FieldCatalog } from '../../src/lib/model/fields.ts';
import type { Database } from '../database.ts';
import { createExportService } from '../export/service.ts';
import { createMergeService } from '../merge.ts';
import { Rooms } from '../sync/rooms.ts';
import { MemoryBus } from '../bus/memory.ts';
import { createLogger } from '../log.ts';
import { createImportService } from './service.ts';
import { parseHeaderRow, parsePolicy } from './http.ts';
import { createExternalIdLookup } from './external-ids.ts';
import { DEFAULT_READ_LIMITS, FileTooLargeError, UnreadableFileError } from './read.ts';
import { ImportRequestError } from './run.ts';
import { newDoc } from '../../src/lib/model/record.ts';

export class CommandError extends Error {}

const cliActor = (workspace: string): Actor => ({ id: 'cli', name: 'Command line', workspace, role: 'admin' });

export interface ImportCommand {
	file: string;
	workspace: string;
	format?: string;
	encoding?: string;
	mapping?: string;
	delimiter?: string;
	dryRun: boolean;
	policy?: string;
	matchOn?: string;
	sheet?: string;
	headerRow?: string;
	/** The field holding another system's id, matched on before the other keys. */
	externalId?: string;
}

/** The workspace's field definitions as stored (the built-ins when it has none yet). */
async function storedCatalog(database: Database, workspace: string): Promise<FieldCatalog> {
	const stored = await database.documents.loadDocument(fieldsDocumentId(workspace));
	if (!stored) return BUILTIN_CATALOG;
	const doc = newDoc();
	Y.applyUpdate(doc, Y.mergeUpdates(stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates));
	const catalog = readCatalog(doc);
	doc.destroy();
	return catalog;
}

/** `open`: the database, opened only once the arguments and the file have been checked. */
export async function importCommand(open: () => Promise<Database>, command: ImportCommand): Promise<void> {
	const format = (command.format ?? importFormatOfName(command.file)) as ImportFormat | null;
	if (!format || !(IMPORT_FORMATS as readonly string[]).includes(format)) {
		throw new CommandError(`Say what the file is with --format=${IMPORT_FORMATS.join('|')} (it could not be told from its name).`);
	}
	const encoding = command.encoding ? parseEncodingName(command.encoding) : null;
	if (command.encoding && !encoding) throw new CommandError(`--encoding must be utf-8, utf-16le, utf-16be, gb18030 (GBK) or big5, not "${command.encoding}".`);
	let mapping: ColumnMapping = {};
	if (command.mapping) {
		try {
			mapping = JSON.parse(command.mapping) as ColumnMapping;
		} catch {
			throw new CommandError('--mapping must be JSON such as \'{"客户": "name", "Remarks": null}\'.');
		}
	}
	const policy = parsePolicy(command.policy, command.matchOn);
	if (!policy.ok) throw new CommandError(`--${policy.message.replace(/^matchOn/, 'match-on')}`);
	const headerRow = parseHeaderRow(command.headerRow);
	if (headerRow === false) throw new CommandError(`--header-row must be the number of the row that holds the column names, not "${command.headerRow}".`);
	const input = createReadStream(command.file);
	try {
		await once(input, 'open');
	} catch (error) {
		throw new CommandError(`Cannot read ${command.file}: ${(error as Error).message}`);
	}
	let database: Database;
	try {
		database = await open();
	} catch (error) {
		input.destroy();
		throw error;
	}
	const workspace = command.workspace;
	const catalog = await storedCatalog(database, workspace);
	const rooms = new Rooms({
		store: database.documents,
		bus: new MemoryBus(),
		log: createLogger('warn'),
		idleUnloadMs: 1_000,
		commitDelayMs: 5,
		compactAfter: 500,
		audit: true,
		isWorkspace: (id) => id === workspace,
		definitions: () => catalog
	});
	const merges = createMergeService({ merges: database.merges, auth: database.auth, rooms, workspace, audit: true, stageAudit: (drafts) => database.audit.stage(drafts) });
	const imports = createImportService({ workspace, store: database.documents, announce: null, definitions: () => catalog, rooms, merges, externalIds: createExternalIdLookup(database.sql) });
	try {
		const report = await imports.run(cliActor(command.workspace), input, {
			format,
			encoding,
			mapping,
			delimiter: command.delimiter,
			dryRun: command.dryRun,
			policy: policy.policy,
			matchOn: policy.matchOn,
			externalId: command.externalId || null,
			sheet: command.sheet || null,
			headerRow,
			sourceFile: command.file,
			limits: { maxBytes: Number.MAX_SAFE_INTEGER, maxRows: DEFAULT_READ_LIMITS.maxRows }
		});
		if (report.workbook) process.stderr.write(`Sheet "${report.workbook.sheet}" of ${report.workbook.sheets.map((s) => `"${s}"`).join(', ')}; column names in row ${report.workbook.headerRow}${report.workbook.headerGuessed ? ' (guessed; --header-row to choose)' : ''}.\n`);
		process.stderr.write(
			`${command.dryRun ? 'Dry run: ' : ''}${report.rowsRead} rows read (${report.encoding}, ${report.encodingReason}); ${report.valid} valid (${report.matched} matching a record, policy ${report.policy}), ` +
				`${report.created} created, ${report.updated} updated, ${report.merged} merged, ${report.skipped} skipped, ${report.unchanged} unchanged, ${report.rejected} rejected.\n`
		);
		for (const problem of report.problems.slice(0, 20)) process.stderr.write(`  row ${problem.row}${problem.column ? `, column "${problem.column}"` : ''}: ${problem.message}\n`);
		if (report.stoppedAt) process.stderr.write(`Stopped: ${report.stoppedAt.message}\n`);
		process.stdout.write(`${JSON.stringify(report)}\n`);
	} catch (error) {
		if (error instanceof UnreadableFileError || error instanceof ImportRequestError || error instanceof FileTooLargeError) throw new CommandError(error.message);
		throw error;
	} finally {
		input.destroy();
		await rooms.close();
	}
}

export interface ExportCommand {
	file: string;
	workspace: string;
	format?: string;
	query?: string;
	includeArchived: boolean;
	/** A view's columns, comma-separated field keys: CSV and Excel hold the id and these only. */
	columns?: string;
	/** A field to sort by (by name when absent), and its direction (the field's own default when absent). */
	sort?: string;
	dir?: string;
}

export async function exportCommand(database: Database, command: ExportCommand): Promise<void> {
	const format = (command.format ?? /\.([a-z]+)$/i.exec(command.file)?.[1]?.toLowerCase()) as ExportFormat | undefined;
	if (!format || !(EXPORT_FORMATS as readonly string[]).includes(format)) throw new CommandError(`--format must be one of ${EXPORT_FORMATS.join(', ')}.`);
	const catalog = await storedCatalog(database, command.workspace);
	const search = command.query ? parseQuery(command.query, { fields: catalog.all }) : null;
	if (search && !search.ok) throw new CommandError(`--query: ${search.message}`);
	const columns = command.columns === undefined ? null : readExportColumns(command.columns, new Set(catalog.all.map((field) => field.key)));
	if (columns && !columns.ok) throw new CommandError(`--${columns.message}`);
	const sort = readListSort(command.sort);
	if (command.sort !== undefined && sort === undefined) throw new CommandError(`--sort: there is no field "${command.sort.slice(0, 60)}" to sort by.`);
	if (command.dir !== undefined && command.dir !== 'asc' && command.dir !== 'desc') throw new CommandError('--dir must be asc or desc.');
	const descending = sort ? (command.dir ?? defaultSortDirection(sort)) === 'desc' : undefined;
	const exports = createExportService({ store: database.documents, workspace: command.workspace });
	const file = exports.open(cliActor(command.workspace), { format, search: search?.query, includeArchived: command.includeArchived, columns: columns?.columns, sort, descending });
	const out = command.file === '-' ? process.stdout : createWriteStream(command.file);
	let bytes = 0;
	for await (const chunk of file.body) {
		bytes += chunk.byteLength;
		if (!out.write(chunk)) await once(out, 'drain');
	}
	if (out !== process.stdout) {
		out.end();
		await finished(out);
		process.stderr.write(`Wrote ${bytes} bytes of ${format} to ${command.file}.\n`);
	}
}
