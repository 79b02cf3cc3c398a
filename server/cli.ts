/**
 * `npm run accord -- <command>`: administration from the command line, run with the
 * server stopped when the embedded database is in use (PGlite allows one process).
 *
 *   token create --role editor --name NAME [--workspace ID]   prints the new token as its last line
 *   token list [--workspace ID]
 *   token revoke ID [--workspace ID]
 *   audit verify [--workspace ID]                              exit 0: the hash chain holds; 1: names the first broken entry
 *                [--anchor SEQ:HASH]                           and every anchor of its end (the anchor file's, and one given by hand)
 *   audit anchor                                               prints each workspace's chain head as an anchor line, to keep elsewhere
 *   import FILE [--dry-run] [--format] [--encoding] [--mapping JSON] [--policy P] [--match-on K,…] [--workspace ID]   prints the JSON summary as its last line
 *   export --format=csv|json|xml|xlsx FILE [--query Q] [--columns a,b] [--sort FIELD [--dir asc|desc]] [--include-archived] [--workspace ID]
 *   backup FILE [--server URL]                                 one consistent, compressed (encrypted with a key) backup file (server/backup)
 *   restore FILE                                               into an empty database
 *   subject export RECORD_ID [--workspace ID]                  everything held about one customer, as JSON on stdout
 *   subject erase RECORD_ID... [--workspace ID]                erases those records for good, all or none (server/erase.ts)
 *   keys new | status | rotate [--dry-run] [--batch N] [--pause MS]   data keys of encryption at rest (server/keys)
 */
import { parseArgs } from 'node:util';
import { isRole } from '../src/lib/access.ts';
import { readConfig } from './config.ts';
import { openDatabase } from './database.ts';
import { DataKeyError, installDataKeys, readDataKeys } from './crypto/data-key.ts';
import type { Anchor } from './audit/anchor.ts';

// Each command's own modules are loaded when it runs, not at start: every run is a new
// process, and the import's readers and parsers alone took about 0.7 s of CPU to load
// for commands that never use them (tests start the command line hundreds of times).
const importModules = () => import('./import/cli.ts');
const backupModules = () => import('./backup/cli.ts');
const keysModules = () => import('./keys/cli.ts');
const eraseModules = () => import('./erase.ts');
const anchorModules = () => import('./audit/anchor.ts');

const USAGE = `Usage:
  npm run accord -- token create --role admin|editor|viewer --name NAME [--workspace ID]
  npm run accord -- token list [--workspace ID]
  npm run accord -- token revoke TOKEN_ID [--workspace ID]
  npm run accord -- audit verify [--workspace ID]   (every workspace unless one is named)
                   [--anchor SEQ:HASH]              (an anchor kept elsewhere, for --workspace or ACCORD_WORKSPACE)
  npm run accord -- audit anchor                    (prints the chain heads as anchor lines)
  npm run accord -- import FILE [--dry-run] [--format csv|tsv|json|xml|xlsx] [--encoding utf-8|utf-16le|utf-16be|gb18030|big5]
                   [--mapping '{"Column": "field"}'] [--delimiter ';'] [--workspace ID]   (the JSON summary is the last line)
                   [--sheet NAME|N] [--header-row N]   (a workbook's sheet and the row of its column names)
                   [--policy skip|update|merge|create] [--match-on id,email,phone,domain] [--external-id x_field]   (rows matching a record already there)
  npm run accord -- export --format csv|json|xml|xlsx FILE [--query "stage:lead"] [--columns name,stage,x_region] [--sort value --dir desc] [--include-archived] [--workspace ID]   (FILE - : standard output; --columns shapes CSV and Excel)
  npm run accord -- backup FILE [--server URL]      (with --server: taken by the running server; ACCORD_TOKEN holds an admin token)
  npm run accord -- restore FILE                    (into an empty database only)
  npm run accord -- subject export RECORD_ID [--workspace ID] > file.json
  npm run accord -- subject erase RECORD_ID... [--workspace ID]   (erases for good, all or none; audited)
  npm run accord -- keys new                        (prints a fresh data key, id:base64, for ACCORD_DATA_KEY)
  npm run accord -- keys status                     (stored values per data key)
  npm run accord -- keys rotate [--dry-run] [--batch N] [--pause MS]   (re-encrypts under the newest key, the last in ACCORD_DATA_KEY)`;

function fail(message: string): never {
	process.stderr.write(`${message}\n\n${USAGE}\n`);
	process.exit(2);
}

async function main(argv: string[]): Promise<void> {
	let parsed;
	try {
		parsed = parseArgs({
			args: argv,
			allowPositionals: true,
			options: {
				role: { type: 'string' },
				name: { type: 'string' },
				workspace: { type: 'string' },
				anchor: { type: 'string' },
				server: { type: 'string' },
				help: { type: 'boolean', short: 'h' },
				'dry-run': { type: 'boolean' },
				format: { type: 'string' },
				encoding: { type: 'string' },
				mapping: { type: 'string' },
				delimiter: { type: 'string' },
				policy: { type: 'string' },
				'match-on': { type: 'string' },
				sheet: { type: 'string' },
				'header-row': { type: 'string' },
				'external-id': { type: 'string' },
				query: { type: 'string' },
				'include-archived': { type: 'boolean' },
				columns: { type: 'string' },
				sort: { type: 'string' },
				dir: { type: 'string' },
				batch: { type: 'string' },
				pause: { type: 'string' }
			}
		});
	} catch (error) {
		fail((error as Error).message);
	}
	const { values, positionals } = parsed;
	if (values.help || positionals.length === 0) {
		process.stdout.write(`${USAGE}\n`);
		return;
	}
	const [noun, verb, argument] = positionals;
	if (noun === 'keys') return keysVerb(verb, values);
	// Every other command reads or writes the database with the configured data keys (a malformed one refuses here).
	try {
		installDataKeys(readDataKeys(process.env));
	} catch (error) {
		fail((error as Error).message);
	}
	if (noun === 'import' || noun === 'export') return fileCommand(noun, verb, values);
	if (noun === 'backup' || noun === 'restore' || noun === 'subject') return dataCommand(positionals, values.workspace, values.server);
	const known = (noun === 'token' && ['create', 'list', 'revoke'].includes(verb ?? '')) || (noun === 'audit' && (verb === 'verify' || verb === 'anchor'));
	if (!known) fail(`Unknown command: ${positionals.join(' ')}`);

	const config = readConfig();
	if (noun === 'audit') return verb === 'anchor' ? printAnchors(config) : verifyAudit(config, values.workspace, values.anchor);
	const workspace = values.workspace ?? config.defaultWorkspace;
	if (verb === 'create') {
		if (!isRole(values.role)) fail('--role must be admin, editor or viewer.');
		if (!values.name?.trim()) fail('--name is required: say what the token is for, for example --name "ERP sync".');
	}
	if (verb === 'revoke' && !argument) fail('Say which token to revoke: token revoke TOKEN_ID (see token list).');

	let database;
	try {
		database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize });
	} catch (error) {
		const message = (error as Error).message;
		fail(
			config.databaseUrl
				? `Cannot open the database at DATABASE_URL: ${message}`
				: `Cannot open the embedded database in ${config.dataDir}: ${message}\nIs Accord running? Stop it first: the embedded database serves one process at a time.`
		);
	}
	try {
		const { auth } = database;
		if (verb === 'create') {
			const { id, token } = await auth.createApiToken({ workspace, name: values.name!.trim(), role: values.role as 'admin', createdBy: 'cli' });
			process.stdout.write(`Created API token ${id} "${values.name!.trim()}" with role ${values.role} in workspace ${workspace}.\n`);
			process.stdout.write('It is shown only this once; store it safely. Use it as "Authorization: Bearer <token>" (HTTP and WebSocket), or ?token=<token> on WebSocket connections only.\n');
			process.stdout.write(`${token}\n`);
		} else if (verb === 'list') {
			for (const token of await auth.listApiTokens(workspace)) {
				process.stdout.write(`${token.id}  ${token.role.padEnd(6)}  ${token.revokedAt ? 'revoked' : 'active '}  ${token.name}\n`);
			}
		} else if (!(await auth.revokeApiToken(workspace, argument!))) {
			fail(`No active token ${argument} in workspace ${workspace}.`);
		} else {
			process.stdout.write(`Revoked token ${argument}.\n`);
		}
	} finally {
		await database.close();
	}
}

/** `import FILE` and `export FILE`: the file is the second word. */
async function fileCommand(
	noun: 'import' | 'export',
	file: string | undefined,
	values: {
		workspace?: string;
		'dry-run'?: boolean;
		format?: string;
		encoding?: string;
		mapping?: string;
		delimiter?: string;
		policy?: string;
		'match-on'?: string;
		sheet?: string;
		'header-row'?: string;
		'external-id'?: string;
		query?: string;
		'include-archived'?: boolean;
		columns?: string;
		sort?: string;
		dir?: string;
	}
): Promise<void> {
	if (!file) fail(noun === 'import' ? 'Say which file to import: import FILE.' : 'Say where to write: export --format csv FILE (or - for standard output).');
	const config = readConfig();
	const workspace = values.workspace ?? config.defaultWorkspace;
	const { CommandError, exportCommand, importCommand } = await importModules();
	// Opened once asked for: the import checks its arguments and its file first, so a typo is
	// answered at once (and not with "Is Accord running?" while the server holds the database).
	let database: Awaited<ReturnType<typeof open>> | null = null;
	const opened = async () => (database ??= await open(config));
	try {
		if (noun === 'import') {
			await importCommand(opened, {
				file,
				workspace,
				format: values.format,
				encoding: values.encoding,
				mapping: values.mapping,
				delimiter: values.delimiter,
				dryRun: values['dry-run'] === true,
				policy: values.policy,
				matchOn: values['match-on'],
				sheet: values.sheet,
				headerRow: values['header-row'],
				externalId: values['external-id']
			});
		} else {
			await exportCommand(await opened(), {
				file,
				workspace,
				format: values.format,
				query: values.query,
				includeArchived: values['include-archived'] === true,
				columns: values.columns,
				sort: values.sort,
				dir: values.dir
			});
		}
	} catch (error) {
		if (error instanceof CommandError) fail(error.message);
		throw error;
	} finally {
		await (database as Awaited<ReturnType<typeof open>> | null)?.close();
	}
}

async function open(config: ReturnType<typeof readConfig>) {
	try {
		return await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize });
	} catch (error) {
		const message = (error as Error).message;
		fail(
			config.databaseUrl
				? `Cannot open the database at DATABASE_URL: ${message}`
				: `Cannot open the embedded database in ${config.dataDir}: ${message}\nIs Accord running? Stop it first: the embedded database serves one process at a time.`
		);
	}
}

/** backup, restore, subject export (server/backup/cli.ts): a refusal is a sentence and exit code 1. */
async function dataCommand(positionals: string[], workspace: string | undefined, server: string | undefined): Promise<void> {
	const [noun, first, second] = positionals;
	if (noun === 'subject' && first === 'erase') return eraseCommand(positionals.slice(2), workspace);
	if (noun === 'subject' && (first !== 'export' || !second)) fail('Say which record: subject export RECORD_ID, or subject erase RECORD_ID...');
	if (noun !== 'subject' && !first) fail(`Say which file: ${noun} FILE.`);
	let config;
	try {
		config = readConfig();
	} catch (error) {
		fail((error as Error).message);
	}
	const { CommandFailed, backupCommand, restoreCommand, subjectExportCommand } = await backupModules();
	try {
		if (noun === 'backup') await backupCommand(config, first, server, process.stdout);
		else if (noun === 'restore') await restoreCommand(config, first, process.stdout);
		else await subjectExportCommand(config, second, workspace ?? config.defaultWorkspace, process.stdout);
	} catch (error) {
		if (!(error instanceof CommandFailed)) throw error;
		process.stderr.write(`${error.message}\n`);
		process.exit(1);
	}
}

/** subject erase (server/erase.ts): a refusal is a sentence and exit code 1, with nothing erased. */
async function eraseCommand(ids: string[], only: string | undefined): Promise<void> {
	let config;
	try {
		config = readConfig();
	} catch (error) {
		fail((error as Error).message);
	}
	const { EraseCommandFailed, subjectEraseCommand } = await eraseModules();
	const database = await open(config);
	try {
		await subjectEraseCommand(database.erasure, database.documents, only ?? config.defaultWorkspace, ids, process.stdout);
	} catch (error) {
		if (!(error instanceof EraseCommandFailed)) throw error;
		process.stderr.write(`${error.message}\n`);
		process.exitCode = 1;
	} finally {
		await database.close();
	}
}

/** Recomputes each workspace's hash chain; exits 1 at the first entry that does not fit. */
async function verifyAudit(config: ReturnType<typeof readConfig>, only: string | undefined, anchorText?: string): Promise<void> {
	const { parseAnchor } = await anchorModules();
	const byHand = anchorText === undefined ? [] : [parseAnchor(anchorText, only ?? config.defaultWorkspace)];
	if (byHand.includes(null)) fail(`--anchor takes SEQ:HASH (an entry's seq and its 64 hex digit hash, as "audit anchor" prints them), not "${anchorText}".`);
	const database = await open(config);
	let broken = false;
	try {
		const workspaces = only ? [only] : await database.audit.workspaces();
		let total = 0;
		for (const workspace of workspaces) {
			const result = await database.audit.verify(workspace);
			total += result.entries;
			const staged = result.pending > 0 ? ` (${result.pending} recent entries staged, not sealed yet)` : '';
			if (result.problem) {
				broken = true;
				const { seq, id, reason } = result.problem;
				process.stderr.write(`Workspace ${workspace}: audit entry seq ${seq}${id === null ? '' : ` (id ${id})`} is broken: ${reason}.\n`);
				process.stderr.write(`The ${result.entries} entries before it verify.${staged}\n`);
			} else {
				process.stdout.write(`Workspace ${workspace}: ${result.entries} entries verified; chain head ${result.headHash}${staged}.\n`);
			}
		}
		// The chain holding says nothing about entries cut off its end: its anchors do.
		if (await anchorsBroken(config, database, workspaces, only, byHand.filter((a): a is Anchor => a !== null))) broken = true;
		if (!broken) process.stdout.write(`${total} entries verified.\n`);
	} finally {
		await database.close();
	}
	if (broken) process.exit(1);
}

/**
 * Checks the anchors of the chains' ends (the anchor file's, and one given by hand);
 * prints a line per workspace, warnings to stdout (they do not fail verification).
 * Returns whether any anchor no longer holds.
 */
async function anchorsBroken(
	config: ReturnType<typeof readConfig>,
	database: Awaited<ReturnType<typeof open>>,
	verified: readonly string[],
	only: string | undefined,
	byHand: readonly Anchor[]
): Promise<boolean> {
	const { anchorFileOf, anchorVerdict, checkAnchors } = await anchorModules();
	const file = anchorFileOf(config);
	const report = await checkAnchors(database.audit, { file, key: config.auditAnchorKey, only, byHand });
	let broken = false;
	// Workspaces anchored but gone from the database (every entry and its head removed) are checked too.
	for (const workspace of [...new Set([...verified, ...report.workspaces.keys()])].sort()) {
		const result = report.workspaces.get(workspace);
		if (!result) {
			if (report.fileRead) report.warnings.push(`workspace ${workspace} has no anchor in ${file} yet: its end is not anchored.`);
			continue;
		}
		const verdict = anchorVerdict(workspace, result);
		if (!verdict.ok) broken = true;
		(verdict.ok ? process.stdout : process.stderr).write(verdict.text);
	}
	for (const warning of report.warnings) process.stdout.write(`Warning: ${warning}\n`);
	return broken;
}

/** Prints each workspace's chain head as an anchor line (signed with ACCORD_AUDIT_ANCHOR_KEY if set), to keep outside the database. */
async function printAnchors(config: ReturnType<typeof readConfig>): Promise<void> {
	const { checkpointLine, checkpointOf } = await anchorModules();
	const database = await open(config);
	try {
		const db = await database.audit.identity();
		const heads = await database.audit.heads();
		const at = new Date();
		for (const head of heads) process.stdout.write(checkpointLine(checkpointOf(db, head, at, config.auditAnchorKey)));
		process.stderr.write(
			heads.length === 0
				? 'No audit entries are sealed yet: nothing to anchor.\n'
				: 'Keep these lines where the database owner cannot change them. Check one later with: audit verify --workspace ID --anchor SEQ:HASH\n'
		);
	} finally {
		await database.close();
	}
}

await main(process.argv.slice(2));

/** keys new | status | rotate (server/keys/cli.ts): a refusal is a sentence and exit code 1. */
async function keysVerb(verb: string | undefined, values: { 'dry-run'?: boolean; batch?: string; pause?: string }): Promise<void> {
	const { KeysCommandFailed, keysCommand, newKeyCommand } = await keysModules();
	if (verb === 'new') return newKeyCommand(process.stdout);
	if (verb !== 'status' && verb !== 'rotate') fail('Say what to do with the data keys: keys new, keys status or keys rotate [--dry-run].');
	const count = (name: string, text: string | undefined, least: number): number | undefined => {
		if (text === undefined) return undefined;
		if (!/^\d{1,7}$/.test(text) || Number(text) < least) fail(`--${name} must be a whole number of ${least} or more, not "${text}".`);
		return Number(text);
	};
	const options = { dryRun: values['dry-run'] === true, batch: count('batch', values.batch, 1), pauseMs: count('pause', values.pause, 0) };
	try {
		await keysCommand(verb, readConfig(), options, process.stdout);
	} catch (error) {
		if (error instanceof KeysCommandFailed || error instanceof DataKeyError) fail(error.message);
		throw error;
	}
}
