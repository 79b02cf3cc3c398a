/**
 * The load generator's processes, seen from the benchmark: each is a forked Node
 * process running bench/workers/clients.ts, driven over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Marked, WorkerCommand } from '../workers/clients.ts';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../workers/clients.ts');

export class ClientWorker {
	private nextId = 1;
	private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
	private exited = false;

	private constructor(readonly child: ChildProcess) {
		child.on('message', (message: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
			if (message.id === undefined) return;
			const waiter = this.waiting.get(message.id);
			if (!waiter) return;
			this.waiting.delete(message.id);
			if (message.ok) waiter.resolve(message.result);
			else waiter.reject(new Error(`client worker: ${message.error}`));
		});
		child.on('exit', (code) => {
			this.exited = true;
			for (const waiter of this.waiting.values()) waiter.reject(new Error(`client worker exited (code ${code})`));
			this.waiting.clear();
		});
	}

	static async start(): Promise<ClientWorker> {
		const child = fork(SCRIPT, [], {
			execArgv: ['--max-old-space-size=4096', '--import', 'tsx'],
			stdio: ['ignore', 'inherit', 'inherit', 'ipc']
		});
		await new Promise<void>((resolve, reject) => {
			child.once('message', () => resolve());
			child.once('exit', (code) => reject(new Error(`client worker exited during start (code ${code})`)));
		});
		return new ClientWorker(child);
	}

	call<T = unknown>(command: WorkerCommand, timeoutMs = 600_000): Promise<T> {
		if (this.exited) return Promise.reject(new Error('client worker has exited'));
		const id = this.nextId++;
		return new Promise<T>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.waiting.delete(id);
				reject(new Error(`client worker: ${command.cmd} timed out`));
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

	async stop(): Promise<void> {
		if (this.exited) return;
		const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
		this.child.kill('SIGTERM');
		const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
		await exited;
		clearTimeout(timer);
	}
}

/** A set of workers addressed together. */
export class WorkerPool {
	private constructor(readonly workers: ClientWorker[]) {}

	static async start(count: number): Promise<WorkerPool> {
		return new WorkerPool(await Promise.all(Array.from({ length: count }, () => ClientWorker.start())));
	}

	all<T>(command: WorkerCommand | ((worker: ClientWorker, index: number) => WorkerCommand | null)): Promise<T[]> {
		return Promise.all(
			this.workers.map((worker, index) => {
				const cmd = typeof command === 'function' ? command(worker, index) : command;
				return cmd ? worker.call<T>(cmd) : Promise.resolve(null as T);
			})
		);
	}

	/** Collects every worker's counters at the same moment, merged. */
	async mark(): Promise<Marked> {
		const marks = await this.all<Marked>({ cmd: 'mark' });
		return {
			latencies: marks.flatMap((m) => m.latencies),
			sent: sum(marks.map((m) => m.sent)),
			received: sum(marks.map((m) => m.received)),
			errors: sum(marks.map((m) => m.errors)),
			bytesRead: sum(marks.map((m) => m.bytesRead)),
			bytesWritten: sum(marks.map((m) => m.bytesWritten)),
			elapsedMs: Math.max(...marks.map((m) => m.elapsedMs)),
			connected: sum(marks.map((m) => m.connected))
		};
	}

	async stop(): Promise<void> {
		await Promise.all(this.workers.map((w) => w.stop()));
	}
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
