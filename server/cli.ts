/**
 * `npm run accord -- <command>`: administration from the command line, run with the
 * server stopped when the embedded database is in use (PGlite allows one process).
 *
 *   token create --role editor --name NAME [--workspace ID]   prints the new token as its last line
 *   token list [--workspace ID]
 *   token revoke ID [--workspace ID]
 */
import { parseArgs } from 'node:util';
import { isRole } from '../src/lib/access.ts';
import { readConfig } from './config.ts';
import { openDatabase } from './store/index.ts';

const USAGE = `Usage:
  npm run accord -- token create --role admin|editor|viewer --name NAME [--workspace ID]
  npm run accord -- token list [--workspace ID]
  npm run accord -- token revoke TOKEN_ID [--workspace ID]`;

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
			options: { role: { type: 'string' }, name: { type: 'string' }, workspace: { type: 'string' }, help: { type: 'boolean', short: 'h' } }
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
	if (noun !== 'token' || !['create', 'list', 'revoke'].includes(verb ?? '')) fail(`Unknown command: ${positionals.join(' ')}`);

	const config = readConfig();
	const workspace = values.workspace ?? config.defaultWorkspace;
	if (verb === 'create') {
		if (!isRole(values.role)) fail('--role must be admin, editor or viewer.');
		if (!values.name?.trim()) fail('--name is required: say what the token is for, for example --name "ERP sync".');
	}
	if (verb === 'revoke' && !argument) fail('Say which token to revoke: token revoke TOKEN_ID (see token list).');

	let database;
	try {
		database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
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
			process.stdout.write('It is shown only this once; store it safely. Use it as "Authorization: Bearer <token>" or ?token=<token>.\n');
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

await main(process.argv.slice(2));
