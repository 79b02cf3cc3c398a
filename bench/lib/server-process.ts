/**
 * Starts a server under test in its own process and talks to it over IPC. Its CPU time
 * and memory are read from /proc, so measuring costs it nothing.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, ServerInfo } from '../servers/common.ts';
import { cpuMicros, memory } from './proc.ts';

export type ServerKind = 'accord' | 'accord-pg' | 'y-websocket' | 'hocuspocus';

export const SERVER_LABELS: Record<ServerKind, string> = {
	accord: 'Accord (PGlite)',
	'accord-pg': 'Accord (Postgres + Redis)',
	'y-websocket': '@y/websocket-server',
	hocuspocus: 'Hocuspocus'
};

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface StartOptions {
	/** Postgres database URL (accord-pg). */
	databaseUrl?: string;
	redisUrl?: string;
	env?: Record<string, string>;
	/** Accord on PGlite: its directory, kept when the server stops (a fresh temporary one, removed, otherwise). */
	dataDir?: string;
	/** How long the start may take (a new PGlite directory runs initdb: 15–60 s on a loaded machine); 60 s by default. */
	startTimeoutMs?: number;
	/** Node flags for the server process, e.g. --cpu-prof. */
	nodeArgs?: string[];
}

/** Known start-up chatter that says nothing about the run (Node 20 is supported by Accord). */
const NOISE = [/^oidc-provider WARNING/];

function forwardStderr(child: ChildProcess, kind: ServerKind): void {
	let buffered = '';
	child.stderr?.setEncoding('utf8');
	child.stderr?.on('data', (chunk: string) => {
		buffered += chunk;
		const lines = buffered.split('\n');
		buffered = lines.pop() ?? '';
		for (const line of lines) if (line && !NOISE.some((re) => re.test(line))) process.stderr.write(`[${kind}] ${line}\n`);
	});
}

export class ServerProcess {
	private nextId = 1;
	private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
	private exited = false;

	private constructor(
		readonly kind: ServerKind,
		readonly child: ChildProcess,
		readonly info: ServerInfo
	) {
		child.on('message', (message: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
			if (message.id === undefined) return;
			const waiter = this.waiting.get(message.id);
			if (!waiter) return;
			this.waiting.delete(message.id);
			if (message.ok) waiter.resolve(message.result);
			else waiter.reject(new Error(`${kind}: ${message.error}`));
		});
		child.on('exit', (code) => {
			this.exited = true;
			for (const waiter of this.waiting.values()) waiter.reject(new Error(`${kind} server exited (code ${code})`));
			this.waiting.clear();
		});
	}

	get pid(): number {
		return this.child.pid!;
	}

	static async start(kind: ServerKind, options: StartOptions = {}): Promise<ServerProcess> {
		const script = path.join(BENCH_DIR, 'servers', `${kind === 'accord-pg' ? 'accord' : kind}.ts`);
		const child = fork(script, [], {
			execArgv: ['--expose-gc', '--max-old-space-size=4096', ...(options.nodeArgs ?? []), '--import', 'tsx'],
			env: {
				...process.env,
				NODE_ENV: 'development',
				BENCH_SERVER: JSON.stringify({ databaseUrl: options.databaseUrl, redisUrl: options.redisUrl, env: options.env, dataDir: options.dataDir })
			},
			stdio: ['ignore', 'inherit', 'pipe', 'ipc']
		});
		forwardStderr(child, kind);
		const startTimeoutMs = options.startTimeoutMs ?? 60_000;
		const info = await new Promise<ServerInfo>((resolve, reject) => {
			const timer = setTimeout(() => {
				// Not left running (and writing to its directory) once given up on.
				child.kill('SIGKILL');
				reject(new Error(`${kind} server did not start within ${startTimeoutMs / 1000} s`));
			}, startTimeoutMs);
			child.once('message', (message: { ready: boolean; info?: ServerInfo; error?: string }) => {
				clearTimeout(timer);
				if (message.ready && message.info) resolve(message.info);
				else reject(new Error(`${kind} server failed to start: ${message.error}`));
			});
			child.once('exit', (code) => {
				clearTimeout(timer);
				reject(new Error(`${kind} server exited during start (code ${code})`));
			});
		});
		return new ServerProcess(kind, child, info);
	}

	call<T = unknown>(command: Command, timeoutMs = 600_000): Promise<T> {
		if (this.exited) return Promise.reject(new Error(`${this.kind} server has exited`));
		const id = this.nextId++;
		return new Promise<T>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.waiting.delete(id);
				reject(new Error(`${this.kind}: ${command.cmd} timed out`));
			}, timeoutMs);
			this.waiting.set(id, {
				resolve: (value) => {
					clearTimeout(timer);
					resolve(value as T);
				},
				reject: (error) => {
					clearTimeout(timer);
					reject(error);
				}
			});
			this.child.send({ id, ...command });
		});
	}

	seed(count: number, offset = 0): Promise<string[]> {
		return this.call<string[]>({ cmd: 'seed', count, offset });
	}

	/** Runs a full garbage collection in the server, then reads its RSS (and the JS heap plus off-heap buffers). */
	async settledRss(): Promise<{ rss: number; heapUsed: number; js: number }> {
		const usage = await this.call<NodeJS.MemoryUsage>({ cmd: 'gc' });
		await new Promise((resolve) => setTimeout(resolve, 200));
		return { rss: memory(this.pid).rss, heapUsed: usage.heapUsed, js: usage.heapUsed + usage.external };
	}

	stats(): Promise<{ memory: NodeJS.MemoryUsage; documentsLoaded?: number; connections?: number; pendingWrites?: number; storedUpdates?: number }> {
		return this.call({ cmd: 'stats' });
	}

	cpuMicros(): number {
		return cpuMicros(this.pid);
	}

	/** Asks the server to shut down (Accord stores what is pending first); killed if it has not within `timeoutMs` (+10 s). */
	async stop(timeoutMs = 30_000): Promise<void> {
		if (this.exited) return;
		const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
		try {
			await this.call({ cmd: 'stop' }, timeoutMs);
		} catch {
			// fall through to the signal
		}
		const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
		await exited;
		clearTimeout(timer);
	}
}
