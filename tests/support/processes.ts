/**
 * Real processes for the fault and multi-instance tests: Accord servers run as child
 * processes (this run's bundle of server/main.ts, tests/support/entry.ts, so they can be
 * killed with SIGKILL and started again on the same port), a private `redis-server` that can be killed and
 * restarted, and a TCP proxy that can cut and restore the way to Postgres while
 * Postgres itself keeps running. Everything started here is killed when the test
 * process exits, even if a test forgets to.
 *
 * The servers use the existing build (`npx vite build`, or `npm test` which builds).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { openDatabase } from '../../server/database.ts';
import { seedPgliteDataDir } from './database-templates.ts';
import { eventually } from './server.ts';
import { entryArgs } from './entry.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const started = new Set<ChildProcess>();
process.once('exit', () => {
	for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A port nobody listens on right now (the system picks it). */
export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/** A child process whose output is kept, and which can be killed and started again with the same command. */
class Child {
	private process: ChildProcess | null = null;
	private output = '';
	private exit: Promise<void> = Promise.resolve();

	constructor(
		readonly name: string,
		private readonly command: string,
		private readonly args: string[],
		private readonly env: NodeJS.ProcessEnv
	) {}

	/** Everything the process wrote to stdout and stderr, over all its runs. */
	get log(): string {
		return this.output;
	}

	get running(): boolean {
		return this.process !== null && this.process.exitCode === null && this.process.signalCode === null;
	}

	get pid(): number | undefined {
		return this.process?.pid;
	}

	start(): void {
		if (this.running) throw new Error(`${this.name} is already running`);
		const child = spawn(this.command, this.args, { cwd: REPO_ROOT, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
		this.process = child;
		started.add(child);
		const append = (chunk: Buffer) => (this.output += chunk.toString());
		child.stdout!.on('data', append);
		child.stderr!.on('data', append);
		this.exit = new Promise((resolve) => {
			child.once('exit', (code, signal) => {
				started.delete(child);
				this.output += `[${this.name} exited: ${signal ?? code}]\n`;
				resolve();
			});
			child.once('error', (error) => {
				started.delete(child);
				this.output += `[${this.name} could not start: ${error.message}]\n`;
				resolve();
			});
		});
	}

	/** Sends the signal to this process (only this one) and waits until it has exited. */
	async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
		if (this.running) this.process!.kill(signal);
		await this.exit;
	}

	/** Waits until the output (since `from`, an offset into `log`) matches. */
	async waitForLog(pattern: RegExp | string, timeoutMs = 20_000, from = 0): Promise<void> {
		const matches = () => {
			const text = this.output.slice(from);
			return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
		};
		await eventually(
			() => {
				if (matches()) return true;
				if (!this.running && this.process) throw new Error(`${this.name} exited before logging ${pattern}:\n${this.output.slice(-3000)}`);
				return false;
			},
			`${this.name} to log ${pattern}`,
			timeoutMs
		);
	}
}

/** The environment for a child: ours, minus what must be set per child. */
function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...process.env };
	for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'REDIS_CLUSTER_URLS', 'DATA_DIR', 'PUBLIC_URL', 'ORIGIN', 'PROTOCOL_HEADER', 'NODE_OPTIONS']) delete env[name];
	for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
	return env;
}

export interface ServerProcessOptions {
	/** Postgres, where several processes share the database; or `dataDir` for a lone instance on PGlite. */
	databaseUrl?: string;
	/** PGlite's directory, for a single process without Postgres. */
	dataDir?: string;
	redisUrl?: string;
	port?: number;
	/** More environment, e.g. `ACCORD_COMMIT_DELAY_MS`. */
	env?: Record<string, string>;
}

/** An Accord server running as a child process on a fixed port. */
export class ServerProcess {
	private readonly child: Child;

	private constructor(
		readonly port: number,
		readonly name: string,
		env: NodeJS.ProcessEnv
	) {
		this.child = new Child(name, process.execPath, entryArgs('main'), env);
	}

	static async start(name: string, options: ServerProcessOptions): Promise<ServerProcess> {
		if (!existsSync(path.join(REPO_ROOT, 'build', 'handler.js'))) throw new Error('No build/ found: run "npx vite build" before these tests.');
		const port = options.port ?? (await freePort());
		// A PGlite server's first start migrates an empty database: start it from a copy of the migrated template instead.
		const pgliteDir = options.databaseUrl ? undefined : (options.dataDir ?? options.env?.DATA_DIR);
		if (pgliteDir) await seedPgliteDataDir(pgliteDir);
		const env = childEnv({
			PORT: String(port),
			HOST: '127.0.0.1',
			DATABASE_URL: options.databaseUrl,
			DATA_DIR: options.dataDir,
			REDIS_URL: options.redisUrl,
			ACCORD_SEED_DEMO: '0',
			LOG_LEVEL: 'info',
			// Without a data directory of the test's own, audit checkpoints would land in the work tree's ./data.
			ACCORD_AUDIT_ANCHOR_FILE: options.dataDir || options.env?.DATA_DIR ? undefined : path.join(os.tmpdir(), `accord-anchors-${port}.jsonl`),
			...options.env
		});
		const server = new ServerProcess(port, name, env);
		await server.start();
		return server;
	}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	get wsUrl(): string {
		return `ws://127.0.0.1:${this.port}`;
	}

	/** stdout and stderr of every run so far. */
	get log(): string {
		return this.child.log;
	}

	get running(): boolean {
		return this.child.running;
	}

	get pid(): number | undefined {
		return this.child.pid;
	}

	/**
	 * Starts (again, on the same port) and resolves once the server answers. Fails at once
	 * if the process exits; the 90 s allowed are for a 2-core machine running other suites
	 * (a start took over 30 s there at a load average of 25), not for a server that hangs.
	 */
	async start(): Promise<void> {
		const from = this.child.log.length;
		this.child.start();
		await this.child.waitForLog('Accord is running at', 90_000, from);
	}

	/** SIGKILL by default: no shutdown, no flushing, as when a machine dies. */
	async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
		await this.child.kill(signal);
	}

	waitForLog(pattern: RegExp | string, timeoutMs?: number, from?: number): Promise<void> {
		return this.child.waitForLog(pattern, timeoutMs, from);
	}

	async health(): Promise<{ status: string; bus: string; store: string; documentsLoaded: number; connections: number }> {
		const response = await fetch(`${this.url}/healthz`);
		return (await response.json()) as { status: string; bus: string; store: string; documentsLoaded: number; connections: number };
	}
}

/** Creates an API token through the CLI, as an operator would; returns the token (the CLI's last line). */
export async function createTokenWithCli(databaseUrl: string, role: 'admin' | 'editor' | 'viewer' = 'editor', name = `test ${role}`): Promise<string> {
	const child = spawn(process.execPath, [...entryArgs('cli'), 'token', 'create', '--role', role, '--name', name], {
		cwd: REPO_ROOT,
		env: childEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'error' }),
		stdio: ['ignore', 'pipe', 'pipe']
	});
	started.add(child);
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
	child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
	started.delete(child);
	if (code !== 0) throw new Error(`accord token create failed (${code}): ${stderr}`);
	const token = stdout.trim().split('\n').at(-1)?.trim();
	if (!token) throw new Error(`accord token create printed no token: ${stdout}`);
	return token;
}

/** A private redis-server (no persistence) on its own port, to kill and restart without touching the shared one. */
export class RedisProcess {
	private readonly child: Child;

	private constructor(readonly port: number) {
		this.child = new Child(`redis:${port}`, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], childEnv({}));
	}

	static async start(port?: number): Promise<RedisProcess> {
		const redis = new RedisProcess(port ?? (await freePort()));
		await redis.start();
		return redis;
	}

	get url(): string {
		return `redis://127.0.0.1:${this.port}`;
	}

	get log(): string {
		return this.child.log;
	}

	async start(): Promise<void> {
		const from = this.child.log.length;
		this.child.start();
		await this.child.waitForLog(/Ready to accept connections/i, 10_000, from);
	}

	async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
		await this.child.kill(signal);
	}
}

/**
 * A TCP proxy (for Postgres): `cut()` destroys every open connection and refuses new
 * ones, as when the database host drops off the network; `restore()` lets them through
 * again on the same port.
 */
export class TcpProxy {
	private server: net.Server | null = null;
	private readonly sockets = new Set<net.Socket>();
	/** Connections accepted so far. */
	accepted = 0;

	private constructor(
		readonly port: number,
		private readonly target: { host: string; port: number }
	) {}

	static async start(target: { host: string; port: number }): Promise<TcpProxy> {
		const proxy = new TcpProxy(await freePort(), target);
		await proxy.restore();
		return proxy;
	}

	get open(): boolean {
		return this.server !== null;
	}

	/** Starts accepting again. */
	async restore(): Promise<void> {
		if (this.server) return;
		const server = net.createServer((client) => {
			this.accepted++;
			const upstream = net.connect(this.target.port, this.target.host);
			for (const socket of [client, upstream]) {
				this.sockets.add(socket);
				socket.on('error', () => undefined);
				socket.on('close', () => {
					this.sockets.delete(socket);
					client.destroy();
					upstream.destroy();
				});
			}
			client.pipe(upstream);
			upstream.pipe(client);
		});
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(this.port, '127.0.0.1', () => resolve());
		});
		this.server = server;
	}

	/** Destroys every connection and refuses new ones (the port stops listening). */
	async cut(): Promise<void> {
		const server = this.server;
		this.server = null;
		for (const socket of this.sockets) socket.destroy();
		this.sockets.clear();
		if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
	}

	async close(): Promise<void> {
		await this.cut();
	}
}

/** `postgres://…/db` with its host and port replaced, e.g. to go through a TcpProxy. */
export function viaPort(databaseUrl: string, port: number): string {
	const url = new URL(databaseUrl);
	url.hostname = '127.0.0.1';
	url.port = String(port);
	return url.toString();
}

/* ------------------------------------------------------------------------------------ */
/* The API of servers running elsewhere (their sync clients: ./sync-client.ts). */

/** fetch() against a server process with a bearer token. */
export async function apiJson<T>(url: string, token: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
	const headers = new Headers(init.headers);
	headers.set('authorization', `Bearer ${token}`);
	if (init.body) headers.set('content-type', 'application/json');
	const response = await fetch(url, { ...init, headers });
	const text = await response.text();
	return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Creates a record through the API of a server process; returns its id. */
export async function createRecordVia(server: ServerProcess, token: string, fields: Record<string, unknown>): Promise<string> {
	const { status, body } = await apiJson<{ id: string; message?: string }>(`${server.url}/api/records`, token, {
		method: 'POST',
		body: JSON.stringify({ fields })
	});
	if (status !== 201) throw new Error(`creating a record failed: ${status} ${JSON.stringify(body)}`);
	return body.id;
}

/**
 * What the database itself holds for a document, read over its own connection (not
 * through any Accord process): the stored snapshot and updates applied to a new Y.Doc.
 */
export async function storedDocument(databaseUrl: string, documentId: string): Promise<Y.Doc | null> {
	const database = await openDatabase({ databaseUrl, dataDir: '' });
	try {
		const stored = await database.documents.loadDocument(documentId);
		if (!stored) return null;
		const doc = new Y.Doc();
		for (const update of stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates) Y.applyUpdate(doc, update);
		return doc;
	} finally {
		await database.close();
	}
}
