/**
 * `POST /api/import`: the file is the body, read as it arrives. Served here, ahead of
 * SvelteKit, because SvelteKit's adapter caps every request body at BODY_SIZE_LIMIT
 * (512 KB by default) and would otherwise have to be raised for every route; this one
 * endpoint has its own limit (ACCORD_IMPORT_MAX_BYTES, 200 MB by default) and never
 * holds the body. It applies the same rules as the API routes' hooks: a session or an
 * API token, no cross-site requests riding on a session, 403 for viewers.
 *
 * Query: `dryRun=1`, `format=csv|tsv|json|xml|xlsx` (else from the Content-Type),
 * `sheet=` and `headerRow=` (a workbook's sheet, by name or place, and the row holding
 * its column names; else the first visible sheet and a guessed row),
 * `encoding=` (else detected), `mapping=` (JSON: header → field, or null to leave a
 * column out), `delimiter=` (CSV; else guessed), `policy=skip|update|merge|create` (what a
 * row matching a record already there does; create when absent), `matchOn=id,email,phone,domain`
 * (the keys that make a match; all when absent), `externalId=x_…` (the field a column
 * holding another system's id is mapped to: rows match the record with the same value
 * there first), `job=1` (run it as a job: answered 202
 * once the file is here, with the job; see jobs.ts), `name=` (the file's name, shown
 * with a job's progress).
 *
 * Jobs: `GET /api/import/jobs` (the workspace's latest, for everyone in it),
 * `GET /api/import/jobs/:id`, `POST …/:id/cancel` (editors), `POST …/:id/undo` (admins),
 * `GET …/:id/rejected` (the rejected rows as CSV with a reason column).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticated, AuthService } from '../../src/lib/server/services.ts';
import { isForbidden } from '../../src/lib/server/services.ts';
import { credentialsFrom } from '../../src/lib/server/credentials.ts';
import { parseEncodingName } from '../../src/lib/io/encoding.ts';
import type { ColumnMapping } from '../../src/lib/io/mapping.ts';
import { DUPLICATE_POLICIES, MATCH_KINDS, type DuplicatePolicy, type MatchKind } from '../../src/lib/io/formats.ts';
import type { Logger } from '../log.ts';
import { FileTooLargeError, IMPORT_FORMATS, UnreadableFileError, type ImportFormat } from './read.ts';
import { ImportRequestError } from './run.ts';
import type { ImportService } from './service.ts';
import { ImportBusyError, type ImportJobs } from './jobs.ts';
import { EXTERNAL_ID_FIELD } from './external-ids.ts';
import { createReadStream } from 'node:fs';

export const IMPORT_PATH = '/api/import';
const JOBS_PATH = /^\/api\/import\/jobs(?:\/([^/]+)(?:\/(cancel|undo|rejected))?)?\/?$/;

const CONTENT_TYPES: Record<string, ImportFormat> = {
	'text/csv': 'csv',
	'application/csv': 'csv',
	'text/tab-separated-values': 'tsv',
	'application/json': 'json',
	'application/xml': 'xml',
	'text/xml': 'xml',
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx'
};

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
	if (res.headersSent) return;
	res.writeHead(status, {
		'content-type': 'application/json; charset=utf-8',
		'cache-control': 'no-store',
		'x-content-type-options': 'nosniff',
		...(close ? { connection: 'close' } : {})
	});
	res.end(JSON.stringify(body));
}

type Parsed =
	| {
			ok: true;
			format: ImportFormat;
			dryRun: boolean;
			encoding: ReturnType<typeof parseEncodingName>;
			mapping: ColumnMapping;
			delimiter?: string;
			policy: DuplicatePolicy;
			matchOn?: MatchKind[];
			sheet: string | null;
			headerRow: number | null;
			externalId: string | null;
	  }
	| { ok: false; message: string };

/** `policy` and `matchOn` as the query string or the command line gives them, each refused with a sentence naming it. */
export function parsePolicy(policyText: string | null | undefined, matchText: string | null | undefined): { ok: true; policy: DuplicatePolicy; matchOn?: MatchKind[] } | { ok: false; message: string } {
	const policy = (policyText?.trim().toLowerCase() || 'create') as DuplicatePolicy;
	if (!DUPLICATE_POLICIES.includes(policy)) return { ok: false, message: `policy must be one of ${DUPLICATE_POLICIES.join(', ')}, not "${String(policyText).slice(0, 40)}".` };
	if (matchText === null || matchText === undefined || matchText.trim() === '') return { ok: true, policy };
	const matchOn: MatchKind[] = [];
	for (const part of matchText.split(',')) {
		const kind = part.trim().toLowerCase() as MatchKind;
		if (!MATCH_KINDS.includes(kind)) return { ok: false, message: `matchOn must list some of ${MATCH_KINDS.join(', ')}, not "${part.slice(0, 40)}".` };
		if (!matchOn.includes(kind)) matchOn.push(kind);
	}
	return { ok: true, policy, matchOn };
}

/** The import's parameters from the query string and Content-Type, each refused with a sentence naming it. */
export function parseImportRequest(url: URL, contentType: string | undefined): Parsed {
	const params = url.searchParams;
	const named = params.get('format')?.trim().toLowerCase();
	const byType = CONTENT_TYPES[(contentType ?? '').split(';', 1)[0].trim().toLowerCase()];
	const format = named ? (IMPORT_FORMATS as readonly string[]).includes(named) ? (named as ImportFormat) : null : byType;
	if (format === null) return { ok: false, message: `format must be one of ${IMPORT_FORMATS.join(', ')}.` };
	if (format === undefined) {
		return {
			ok: false,
			message:
				'Say what the file is: format=csv|tsv|json|xml|xlsx, or a Content-Type of text/csv, text/tab-separated-values, application/json, application/xml or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
		};
	}
	const encodingName = params.get('encoding')?.trim();
	const encoding = encodingName ? parseEncodingName(encodingName) : null;
	if (encodingName && !encoding) return { ok: false, message: `encoding must be one of utf-8, utf-16le, utf-16be, gb18030 (also GBK) or big5, not "${encodingName.slice(0, 40)}".` };
	let mapping: ColumnMapping = {};
	const mappingText = params.get('mapping');
	if (mappingText) {
		try {
			const value = JSON.parse(mappingText) as unknown;
			if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error();
			for (const [header, target] of Object.entries(value)) {
				if (target !== null && typeof target !== 'string') throw new Error();
				mapping[header] = target || null;
			}
		} catch {
			return { ok: false, message: 'mapping must be a JSON object of column → field, such as {"客户": "name", "Remarks": null}.' };
		}
	}
	const delimiter = params.get('delimiter') ?? undefined;
	if (delimiter !== undefined && (delimiter.length !== 1 || /["\r\n]/.test(delimiter))) {
		return { ok: false, message: 'delimiter must be one character other than a quote or a line break (for a tab, send %09).' };
	}
	const policy = parsePolicy(params.get('policy'), params.get('matchOn'));
	if (!policy.ok) return policy;
	const sheet = params.get('sheet')?.slice(0, 200) || null;
	const headerRow = parseHeaderRow(params.get('headerRow'));
	if (headerRow === false) return { ok: false, message: 'headerRow must be the number of the row that holds the column names (1 to 1048576).' };
	const externalId = params.get('externalId')?.trim() || null;
	if (externalId !== null && !EXTERNAL_ID_FIELD.test(externalId)) {
		return { ok: false, message: `externalId must name one of the workspace's own fields (x_…) that the other system's id column is mapped to, not "${externalId.slice(0, 60)}".` };
	}
	return {
		ok: true,
		format,
		dryRun: params.get('dryRun') === '1' || params.get('dryRun') === 'true',
		encoding,
		mapping,
		delimiter,
		policy: policy.policy,
		matchOn: policy.matchOn,
		sheet,
		headerRow,
		externalId
	};
}

/** A workbook's header row as given (`headerRow=`, `--header-row`): null when absent, false when not a row number. */
export function parseHeaderRow(text: string | null | undefined): number | null | false {
	if (text === null || text === undefined || text.trim() === '') return null;
	const row = Number(text.trim());
	return Number.isInteger(row) && row >= 1 && row <= 1_048_576 ? row : false;
}

async function* bodyOf(req: IncomingMessage): AsyncGenerator<Uint8Array> {
	for await (const chunk of req) yield chunk as Buffer;
}

export interface ImportHttpDeps {
	auth: AuthService;
	imports: ImportService;
	jobs: ImportJobs;
	publicOrigin: string;
	maxBytes: number;
	log: Logger;
}

/** Whether a session-authenticated request comes from another site (its Origin or Sec-Fetch-Site says so). */
function crossSite(req: IncomingMessage, publicOrigin: string): boolean {
	const origin = req.headers.origin;
	const host = req.headers.host;
	if (origin !== undefined) return origin !== publicOrigin && origin !== `http://${host}` && origin !== `https://${host}`;
	const site = req.headers['sec-fetch-site'];
	return site !== undefined && site !== 'same-origin' && site !== 'none';
}

/** Answers `/api/import`; false for any other path. */
export function handleImportHttp(req: IncomingMessage, res: ServerResponse, deps: ImportHttpDeps): boolean {
	const url = new URL(req.url ?? '/', 'http://localhost');
	const jobPath = JOBS_PATH.exec(url.pathname);
	if (url.pathname !== IMPORT_PATH && !jobPath) return false;
	const answered = jobPath ? answerJobs(req, res, jobPath[1] ?? null, (jobPath[2] as JobAction | undefined) ?? null, deps) : answer(req, res, url, deps);
	void answered.catch((error: Error) => {
		deps.log.error('an import failed', { error: error.message, stack: error.stack });
		send(res, 500, { message: 'The import failed on the server; records written before the failure stay. Try again, or ask an admin to check the log.' }, true);
	});
	return true;
}

async function answer(req: IncomingMessage, res: ServerResponse, url: URL, deps: ImportHttpDeps): Promise<void> {
	// A refusal before the body is read closes the connection, so the client is not left sending a large file into nothing.
	const refuse = (status: number, body: Record<string, unknown>) => {
		send(res, status, body, true);
		req.resume();
	};
	if (req.method !== 'POST') {
		res.setHeader('allow', 'POST');
		return refuse(405, { message: 'Send the file with POST /api/import (add dryRun=1 to check it without importing).' });
	}
	let authenticated: Authenticated | null;
	try {
		authenticated = await deps.auth.authenticate(credentialsFrom(req.headers.cookie, req.headers.authorization));
	} catch {
		return refuse(503, { message: 'The server cannot check your sign-in right now; try again in a moment.' });
	}
	if (!authenticated) return refuse(401, { message: 'Sign in first, or send an API token as "Authorization: Bearer <token>".' });
	if (authenticated.via === 'session' && crossSite(req, deps.publicOrigin)) {
		return refuse(403, { message: 'Cross-site request refused: changes can only be made from Accord itself.' });
	}
	const parsed = parseImportRequest(url, req.headers['content-type']);
	if (!parsed.ok) return refuse(400, { message: parsed.message });
	const declared = Number(req.headers['content-length']);
	if (Number.isFinite(declared) && declared > deps.maxBytes) {
		return refuse(413, { message: new FileTooLargeError(deps.maxBytes).message, limitBytes: deps.maxBytes });
	}
	const options = {
		format: parsed.format,
		encoding: parsed.encoding,
		mapping: parsed.mapping,
		delimiter: parsed.delimiter,
		policy: parsed.policy,
		matchOn: parsed.matchOn,
		sheet: parsed.sheet,
		headerRow: parsed.headerRow,
		externalId: parsed.externalId,
		limits: { maxBytes: deps.maxBytes }
	};
	try {
		if (!parsed.dryRun && url.searchParams.get('job') === '1') {
			const name = (url.searchParams.get('name') ?? '').slice(0, 200) || `upload.${parsed.format}`;
			const job = await deps.jobs.start(authenticated.actor, bodyOf(req), name, deps.maxBytes, options);
			return send(res, 202, job);
		}
		const report = await deps.imports.run(authenticated.actor, bodyOf(req), { ...options, dryRun: parsed.dryRun });
		send(res, 200, report);
	} catch (error) {
		if (isForbidden(error)) return refuse(403, { message: error.message });
		if (error instanceof ImportBusyError) return refuse(409, { message: error.message, running: error.running?.id ?? null });
		if (error instanceof FileTooLargeError) return refuse(413, { message: error.message, limitBytes: deps.maxBytes });
		if (error instanceof UnreadableFileError) return refuse(422, { message: error.message, row: error.row || null, ...(error.sheets ? { sheets: error.sheets } : {}) });
		if (error instanceof ImportRequestError) return refuse(400, { message: error.message });
		if (req.destroyed || req.readableAborted) return; // the client went away mid-upload
		throw error;
	}
}

type JobAction = 'cancel' | 'undo' | 'rejected';

/** `/api/import/jobs[/:id[/cancel|undo|rejected]]`. */
async function answerJobs(req: IncomingMessage, res: ServerResponse, id: string | null, action: JobAction | null, deps: ImportHttpDeps): Promise<void> {
	const post = action === 'cancel' || action === 'undo';
	if (req.method !== (post ? 'POST' : 'GET')) {
		res.setHeader('allow', post ? 'POST' : 'GET');
		return send(res, 405, { message: post ? `Send POST to ${action} an import.` : 'Read import jobs with GET.' }, true);
	}
	req.resume();
	let authenticated: Authenticated | null;
	try {
		authenticated = await deps.auth.authenticate(credentialsFrom(req.headers.cookie, req.headers.authorization));
	} catch {
		return send(res, 503, { message: 'The server cannot check your sign-in right now; try again in a moment.' });
	}
	if (!authenticated) return send(res, 401, { message: 'Sign in first, or send an API token as "Authorization: Bearer <token>".' });
	if (post && authenticated.via === 'session' && crossSite(req, deps.publicOrigin)) {
		return send(res, 403, { message: 'Cross-site request refused: changes can only be made from Accord itself.' });
	}
	const actor = authenticated.actor;
	const notFound = () => send(res, 404, { message: `There is no import ${String(id).slice(0, 60)} in this workspace.` });
	try {
		if (id === null) return send(res, 200, { jobs: await deps.jobs.list(actor) });
		if (action === null) {
			const job = await deps.jobs.get(actor, id);
			return job ? send(res, 200, job) : notFound();
		}
		if (action === 'cancel') {
			return (await deps.jobs.cancel(actor, id)) ? send(res, 202, { cancelling: true }) : send(res, 409, { message: 'This import is not running.' });
		}
		if (action === 'undo') {
			const result = await deps.jobs.undo(actor, id);
			return result.ok ? send(res, 200, result) : send(res, result.status, { message: result.message });
		}
		const file = deps.jobs.rejectedFile(actor, id);
		if (!file) return send(res, 404, { message: 'This import has no file of rejected rows here (it is running, had none, or ran on another server).' });
		const stream = createReadStream(file);
		stream.once('open', () => {
			res.writeHead(200, {
				'content-type': 'text/csv; charset=utf-8',
				'content-disposition': `attachment; filename="accord-import-${id.slice(0, 8)}-rejected.csv"`,
				'cache-control': 'no-store',
				'x-content-type-options': 'nosniff'
			});
			stream.pipe(res);
		});
		stream.once('error', () => notFound());
	} catch (error) {
		if (isForbidden(error)) return send(res, 403, { message: error.message });
		throw error;
	}
}

/** The import size limit: ACCORD_IMPORT_MAX_BYTES, or 200 MB. */
export function importMaxBytes(setting: string | undefined = process.env.ACCORD_IMPORT_MAX_BYTES): number {
	const value = Number(setting);
	return setting && Number.isInteger(value) && value > 0 ? value : 200 * 1024 * 1024;
}
