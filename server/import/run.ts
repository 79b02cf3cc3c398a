/**
 * One import, from bytes to records: rows are read a chunk at a time (read.ts), their
 * columns mapped (src/lib/io/mapping.ts), every row checked by the record validator the
 * API uses (`validateNewRecord`, so an import can hold nothing a person could not type),
 * and the valid ones handed to `create` in batches. A dry run reads and checks
 * everything and creates nothing. Memory is bounded by the batch, the first problems
 * kept and the preview, whatever the file's length.
 */
import { canonicalRecordId, type NewRecord } from '../../src/lib/model/record.ts';
import type { FieldLookup } from '../../src/lib/model/validate.ts';
import type { DetectedEncoding, ImportEncoding } from '../../src/lib/io/encoding.ts';
import { headerKey, labelSynonyms, mapColumns, mappingProblems, splitTags, type ColumnMapping, type KnownField } from '../../src/lib/io/mapping.ts';
import { DUPLICATE_POLICIES, type DuplicatePolicy, type MatchKind } from '../../src/lib/io/formats.ts';
import { validateNewRecord } from '../records.ts';
import { EXTERNAL_ID_FIELD } from './external-ids.ts';
import { createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import {
	DEFAULT_READ_LIMITS,
	FileTooLargeError,
	UnreadableFileError,
	decodeBytes,
	readDelimited,
	readJson,
	readXlsx,
	readXml,
	type Cell,
	type ImportFormat,
	type ReadLimits,
	type ReadRow,
	type WorkbookRead
} from './read.ts';

/** Rows handed to `create` at once: one round of database writes, and the most held in memory. */
export const IMPORT_BATCH = 250;
/** Problems listed in the answer; beyond them only counted (a file of 100,000 bad rows answers in a bounded size). */
export const MAX_LISTED_PROBLEMS = 1000;
/** Rows shown back as they will be stored, for the import page's preview. */
export const PREVIEW_ROWS = 20;

export interface ImportOptions {
	format: ImportFormat;
	encoding?: ImportEncoding | null;
	/** Header → field (or null to leave out), over the guess. */
	mapping?: ColumnMapping;
	delimiter?: string;
	dryRun: boolean;
	workspace: string;
	/** Who the records are created by (their `createdBy`). */
	createdBy: string;
	limits?: Partial<ReadLimits>;
	/** What to do with a row that matches a record already there (default `create`: the API's meaning before policies). */
	policy?: DuplicatePolicy;
	/** Which keys make a match (default: all of them). */
	matchOn?: readonly MatchKind[];
	/**
	 * The field (`x_…`) a column holding another system's id is mapped to: rows match the
	 * record holding the same value there, before any other key (null: not matched on).
	 */
	externalId?: string | null;
	/** The workspace's field definitions (server/fields.ts), which values are validated against, as the REST API does. */
	definitions?: FieldLookup & { all?: readonly KnownField[] };
	/** Asked before each batch is written: true stops the import there (that batch is not written). */
	cancelled?: () => boolean;
	/** Told the report so far after each batch (a job's progress). */
	progress?: (report: ImportReport) => void;
	/** Told each rejected row, its cells as read and why (a job's file of rejected rows). */
	rejectedRow?: (row: ReadRow, reasons: string) => void;
	/** A workbook's sheet (its name, or its place from 1) and header row; the first visible sheet and a guessed header when absent. */
	sheet?: string | null;
	headerRow?: number | null;
	/** The file the bytes are on, when they are (a job's spooled upload, the command line's file): a workbook is read from it in place. */
	sourceFile?: string;
	/** Told how far through a workbook's sheet the reading is, 0 to 1 (its bytes are not read in order, so a job cannot count them). */
	readProgress?: (fraction: number) => void;
}

/** A valid row on its way to the store: its place in the file, the record, and the Accord id it names (an export's `id` column). */
export interface ImportRow {
	row: number;
	record: NewRecord;
	id: string | null;
	/** The row's value of the external id field, as stored (null: none, or not matched on). */
	external: string | null;
}

/** What became of a valid row. `unchanged`: it matched a record that already held every value (update policy). */
export type RowOutcome = 'created' | 'updated' | 'merged' | 'skipped' | 'unchanged';
export const ROW_OUTCOMES: readonly RowOutcome[] = ['created', 'updated', 'merged', 'skipped', 'unchanged'];

/** Each row's outcome and whether it matched a record (or an earlier row of the file). */
export interface BatchResult {
	outcomes: RowOutcome[];
	matched: number;
}

export interface ImportProblem {
	/** The row as a spreadsheet numbers it (header = 1), or the record's place in a JSON or XML file. */
	row: number;
	/** The file's column (header) the problem is in, or null when it concerns the whole row. */
	column: string | null;
	/** The record field that column fills. */
	field: string | null;
	message: string;
}

export interface ImportReport {
	format: ImportFormat;
	encoding: DetectedEncoding['encoding'];
	encodingReason: DetectedEncoding['reason'];
	dryRun: boolean;
	/** Every column seen, and what it fills (null: left out). */
	mapping: ColumnMapping;
	rowsRead: number;
	/** Rows that pass validation (on a real run: created, unless the run stopped early). */
	valid: number;
	created: number;
	/** Rows that changed the record they matched (update policy). */
	updated: number;
	/** Rows merged into the record they matched (merge policy). */
	merged: number;
	/** Rows left out because they matched a record (skip policy). */
	skipped: number;
	/** Rows that matched a record already holding all their values (update policy): nothing written. */
	unchanged: number;
	/** Valid rows that matched a record already there or an earlier row (on a dry run too: what the policy will act on). */
	matched: number;
	policy: DuplicatePolicy;
	/** The last row of the file whose batch was written: every valid row up to it made it, none after (null: none). */
	writtenThrough: number | null;
	rejected: number;
	problems: ImportProblem[];
	/** Problems beyond those listed. */
	moreProblems: number;
	preview: Array<{ row: number; fields: Record<string, unknown>; tags: string[]; notes: string | null; problems: number }>;
	/** Set when the file stopped being readable part way: rows before it were handled, none after. */
	stoppedAt: { row: number | null; message: string } | null;
	/** Stopped by a cancel: whole batches before it were written (up to `writtenThrough`), nothing after. */
	cancelled: boolean;
	/** A workbook's sheets, the sheet read and its header row (null for the other formats). */
	workbook: WorkbookRead | null;
}

/** A cancel reached between batches; caught by `runImport` itself. */
class Cancelled extends Error {}

/**
 * Writes a batch of valid rows by the policy (server/import/service.ts); on a dry run it
 * only finds the matches. Returns one outcome per row, in order.
 *
 * `ready` must be awaited before the batch touches the database (a read included): it
 * settles once the previous batch is written, and throws when that batch failed or the
 * import was cancelled meanwhile. What needs no database (building the records'
 * documents and list rows) is done before it, while the previous batch is being written.
 */
export type WriteBatch = (
	rows: ImportRow[],
	options: { dryRun: boolean; policy: DuplicatePolicy; matchOn: readonly MatchKind[]; externalId: string | null; ready: () => Promise<void> }
) => Promise<BatchResult>;

/** An import that cannot start: a mapping that does not make sense. Answered 400, nothing read. */
export class ImportRequestError extends Error {
	override readonly name = 'ImportRequestError';
}

function cellText(cell: Cell | undefined): string | number | boolean | null {
	if (cell === undefined) return null;
	if (Array.isArray(cell)) return cell.join(', ');
	return cell;
}

/** A row's cells as the input of `validateNewRecord`, by the mapping; the column each input came from. */
/** Headers of an Accord id column (an export's `id`), compared after `headerKey`. */
const ID_HEADERS = new Set(['id', 'recordid', 'accordid', '记录id', '編號']);

function rowInput(
	row: ReadRow,
	mapping: ColumnMapping,
	/** Per import: whether each header is an id column (headers repeat on every row; folding them once is enough). */
	idHeaders: Map<string, boolean>
): { input: { fields: Record<string, unknown>; tags?: unknown; notes?: unknown }; id: string | null; columnOf: Map<string, string>; problems: ImportProblem[] } {
	const fields: Record<string, unknown> = {};
	const columnOf = new Map<string, string>();
	const problems: ImportProblem[] = [];
	let tags: string[] | undefined;
	let notes: string | undefined;
	let id: string | null = null;
	for (const [header, cell] of row.cells) {
		// An export's id column: which record this row is, for matching (never written as a field).
		let isId = idHeaders.get(header);
		if (isId === undefined) idHeaders.set(header, (isId = ID_HEADERS.has(headerKey(header))));
		if (id === null && isId && typeof cell === 'string') id = canonicalRecordId(cell.trim());
		const target = mapping[header];
		if (!target) continue;
		columnOf.set(target, header);
		if (target === 'tags') {
			tags = Array.isArray(cell) ? cell : typeof cell === 'string' ? splitTags(cell) : cell === null ? [] : [String(cell)];
		} else if (target === 'notes') {
			const text = cellText(cell);
			notes = text === null ? undefined : String(text);
		} else if (target === 'custom') {
			const text = cellText(cell);
			if (typeof text !== 'string' || text.trim() === '') continue;
			try {
				const custom = JSON.parse(text) as unknown;
				if (typeof custom !== 'object' || custom === null || Array.isArray(custom)) throw new Error('not an object');
				for (const [key, value] of Object.entries(custom)) {
					fields[key] = value;
					columnOf.set(key, header);
				}
			} catch {
				problems.push({ row: row.row, column: header, field: 'custom', message: 'Custom fields must be a JSON object such as {"x_source": "fair"}.' });
			}
		} else {
			const text = cellText(cell);
			// An empty cell is no value, as in the form; a text cell is trimmed by the validator.
			if (text !== null && text !== '') fields[target] = text;
		}
	}
	if (row.cells.has('#extra')) problems.push({ row: row.row, column: null, field: null, message: `This row has ${String(row.cells.get('#extra'))}.` });
	return { input: { fields, ...(tags ? { tags } : {}), ...(notes !== undefined ? { notes } : {}) }, id, columnOf, problems };
}

export async function runImport(bytes: AsyncIterable<Uint8Array>, options: ImportOptions, write: WriteBatch): Promise<ImportReport> {
	const limits: ReadLimits = { ...DEFAULT_READ_LIMITS, ...options.limits };
	const override = options.mapping ?? {};
	const policy = options.policy ?? 'create';
	if (!DUPLICATE_POLICIES.includes(policy)) throw new ImportRequestError(`policy must be one of ${DUPLICATE_POLICIES.join(', ')}.`);
	const matchOn = options.matchOn ?? MATCH_ALL;
	const externalId = options.externalId?.trim() || null;
	if (externalId !== null && !EXTERNAL_ID_FIELD.test(externalId)) {
		throw new ImportRequestError(`externalId must name one of the workspace's own fields (x_…) that the other system's id column is mapped to, not "${externalId.slice(0, 60)}".`);
	}
	const known = labelSynonyms(options.definitions?.all ?? []);
	const wrong = mappingProblems(Object.fromEntries(Object.entries(override).filter(([, target]) => target)));
	if (wrong.length > 0) throw new ImportRequestError(wrong.join(' '));
	let spooled: string | null = null;
	try {
		if (options.format === 'xlsx' && !options.sourceFile) spooled = await spoolWorkbook(bytes, limits.maxBytes);
		return await readAndWrite(bytes, options, limits, policy, matchOn, known, override, write, options.sourceFile ?? spooled);
	} finally {
		if (spooled) rmSync(spooled, { force: true });
	}
}

/** A workbook's central directory is at its end, so an uploaded one is written to a temp file first (bounded by the size limit) and read from there. */
async function spoolWorkbook(bytes: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
	const file = path.join(os.tmpdir(), `accord-import-${randomUUID()}.xlsx`);
	const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
	let size = 0;
	try {
		for await (const chunk of bytes) {
			size += chunk.byteLength;
			if (size > maxBytes) throw new FileTooLargeError(maxBytes);
			if (!out.write(chunk)) await once(out, 'drain');
		}
		out.end();
		await finished(out);
	} catch (error) {
		out.destroy();
		rmSync(file, { force: true });
		throw error;
	}
	if (size === 0) {
		rmSync(file, { force: true });
		throw new UnreadableFileError('The file is empty.');
	}
	return file;
}

async function readAndWrite(
	bytes: AsyncIterable<Uint8Array>,
	options: ImportOptions,
	limits: ReadLimits,
	policy: DuplicatePolicy,
	matchOn: readonly MatchKind[],
	known: ReturnType<typeof labelSynonyms>,
	override: ColumnMapping,
	write: WriteBatch,
	workbookFile: string | null
): Promise<ImportReport> {
	let workbook: WorkbookRead | null = null;
	const decoded =
		options.format === 'xlsx'
			? { encoding: { encoding: 'utf-8' as const, reason: 'xlsx' as const, bomLength: 0 }, text: null }
			: await decodeBytes(bytes, limits.maxBytes, options.encoding ?? null);
	const rows =
		decoded.text === null
			? readXlsx(workbookFile!, { sheet: options.sheet, headerRow: options.headerRow }, limits, (read) => (workbook = read), options.readProgress)
			: options.format === 'json'
				? readJson(decoded.text, limits)
				: options.format === 'xml'
					? readXml(decoded.text, limits)
					: readDelimited(decoded.text, { delimiter: options.format === 'tsv' ? '\t' : options.delimiter }, limits);

	const report: ImportReport = {
		format: options.format,
		encoding: decoded.encoding.encoding,
		encodingReason: decoded.encoding.reason,
		dryRun: options.dryRun,
		mapping: {},
		rowsRead: 0,
		valid: 0,
		created: 0,
		updated: 0,
		merged: 0,
		skipped: 0,
		unchanged: 0,
		matched: 0,
		policy,
		writtenThrough: null,
		rejected: 0,
		problems: [],
		moreProblems: 0,
		preview: [],
		stoppedAt: null,
		cancelled: false,
		workbook: null
	};
	const note = (problem: ImportProblem): void => {
		if (report.problems.length < MAX_LISTED_PROBLEMS) report.problems.push(problem);
		else report.moreProblems++;
	};
	let mapping: ColumnMapping = {};
	const externalField = options.externalId?.trim() || null;
	const idHeaders = new Map<string, boolean>();
	let batch: ImportRow[] = [];
	/**
	 * Batches handed to the writer and not yet settled, oldest first (at most two). They
	 * are written one after the other, in order, but a batch's preparation (its documents
	 * and audit entries: CPU on this thread) and the reading and checking of the rows after
	 * it overlap the transaction before it (the database's CPU, another process or
	 * thread). At most four batches are held: one being written, two prepared and
	 * waiting, one being read.
	 */
	let writing: Array<Promise<void>> = [];
	const flush = async (): Promise<void> => {
		if (batch.length === 0) return;
		const rows = batch;
		batch = [];
		if (options.cancelled?.()) throw new Cancelled();
		const previous = writing.at(-1);
		const ready = async (): Promise<void> => {
			await previous;
			// Asked again once the previous batch is in: a cancel meanwhile stops before this one.
			if (options.cancelled?.()) throw new Cancelled();
		};
		const current = write(rows, { dryRun: options.dryRun, policy, matchOn, externalId: options.externalId?.trim() || null, ready }).then((result) => {
			report.matched += result.matched;
			if (options.dryRun) return;
			for (const outcome of result.outcomes) report[outcome]++;
			report.writtenThrough = rows[rows.length - 1].row;
			options.progress?.(report);
		});
		// Its failure is seen by whoever awaits it (a later batch's `ready`, or `settle`); never left unhandled.
		current.catch(() => undefined);
		writing.push(current);
		// Read on once the oldest batch still unsettled is written (the ones after it are on their way).
		if (writing.length > 2) await writing.shift();
	};
	/** Waits for every batch handed over (each, even when an earlier one failed): the first failure, or a cancel, is the import's. */
	const settle = async (): Promise<void> => {
		const pending = writing;
		writing = [];
		const results = await Promise.allSettled(pending);
		const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
		if (failed) throw failed.reason;
	};

	try {
		for await (const row of rows) {
			report.rowsRead++;
			// Headers appear as they come (JSON and XML records may differ): each new one is mapped once.
			const fresh = [...row.cells.keys()].filter((header) => header !== '#extra' && !Object.hasOwn(mapping, header));
			if (fresh.length > 0) {
				mapping = mapColumns([...Object.keys(mapping), ...fresh], { ...mapping, ...pick(override, fresh) }, known);
			}
			if (externalField && report.rowsRead === 1 && !Object.values(mapping).includes(externalField)) {
				throw new ImportRequestError(`No column is mapped to ${externalField}, the field chosen for the other system's id: map the column holding that id to it (or create the field from the column).`);
			}
			const { input, id, columnOf, problems } = rowInput(row, mapping, idHeaders);
			const validated = validateNewRecord(input, options.workspace, options.createdBy, options.definitions);
			if (!validated.ok) {
				for (const [field, message] of Object.entries(validated.errors)) {
					problems.push({ row: row.row, column: columnOf.get(field) ?? null, field, message });
				}
			}
			if (report.preview.length < PREVIEW_ROWS) {
				report.preview.push({
					row: row.row,
					fields: validated.ok ? validated.record.fields : input.fields,
					tags: validated.ok ? (validated.record.tags ?? []) : Array.isArray(input.tags) ? (input.tags as string[]) : [],
					notes: typeof input.notes === 'string' ? input.notes.slice(0, 200) : null,
					problems: problems.length
				});
			}
			if (problems.length > 0 || !validated.ok) {
				report.rejected++;
				for (const problem of problems) note(problem);
				options.rejectedRow?.(row, problems.map((p) => (p.column ? `${p.column}: ${p.message}` : p.message)).join(' '));
				continue;
			}
			report.valid++;
			const externalValue = externalField ? validated.record.fields[externalField] : null;
			batch.push({ row: row.row, record: validated.record, id, external: externalValue === null || externalValue === undefined || externalValue === '' ? null : String(externalValue) });
			if (batch.length >= IMPORT_BATCH) await flush();
		}
		await flush();
		await settle();
	} catch (error) {
		// A batch still being written ends before the import answers: nothing is written after the answer.
		const unsettled = await settle().then(
			() => null,
			(failure: unknown) => failure
		);
		if (error instanceof Cancelled || unsettled instanceof Cancelled) {
			report.cancelled = true;
			report.mapping = mapping;
			report.workbook = workbook;
			return report;
		}
		if (unsettled !== null) throw unsettled;
		if (!(error instanceof UnreadableFileError)) throw error;
		// Whole batches only: what was read before the fault and is valid is kept (and said so).
		await flush()
			.then(settle)
			.catch((stop: unknown) => {
				if (!(stop instanceof Cancelled)) throw stop;
				report.cancelled = true;
			});
		report.stoppedAt = { row: error.row, message: error.message };
		if (report.rowsRead === 0) throw error;
	}
	report.mapping = mapping;
	report.workbook = workbook;
	return report;
}

const MATCH_ALL: readonly MatchKind[] = ['id', 'email', 'phone', 'domain'];

const pick = (mapping: ColumnMapping, headers: readonly string[]): ColumnMapping =>
	Object.fromEntries(headers.filter((h) => Object.hasOwn(mapping, h)).map((h) => [h, mapping[h]]));
