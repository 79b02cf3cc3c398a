/**
 * A throwaway Redis Cluster of the machine's own `redis-server` processes, for the tests
 * (and the benchmark) of the bus on REDIS_CLUSTER_URLS: three masters, no replicas, on
 * free loopback ports, no persistence, their cluster config files in a temporary
 * directory that `stop()` removes. CI starts no cluster of its own: whoever needs one
 * starts it here and stops it after. A node can be killed and started again with the
 * same cluster config file, so it comes back as the same node with the same slots.
 *
 * The cluster is made with `redis-cli --cluster create`; a `redis-cli` without the
 * cluster manager falls back to CLUSTER ADDSLOTSRANGE and CLUSTER MEET.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes.ts';

const run = promisify(execFile);
const SLOTS = 16_384;
/** Short, so that the other masters mark a killed one as failed (and clear it when back) within seconds. */
const NODE_TIMEOUT_MS = 1_000;

const running = new Set<ChildProcess>();
process.once('exit', () => {
	for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Whether this machine can run a cluster: `redis-server` (7 or later, for sharded pub/sub) and `redis-cli` on the PATH. */
export function canRunRedisCluster(): boolean {
	try {
		const version = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
		execFileSync('redis-cli', ['--version'], { stdio: 'ignore' });
		const major = Number(/v=(\d+)/.exec(version)?.[1] ?? 0);
		return major >= 7;
	} catch {
		return false;
	}
}

/** Runs `redis-cli -p port ...args` and returns its output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
	const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
	return stdout;
}

export class RedisClusterNode {
	private child: ChildProcess | null = null;
	private output = '';

	constructor(
		readonly port: number,
		readonly busPort: number,
		private readonly dir: string
	) {}

	get url(): string {
		return `redis://127.0.0.1:${this.port}`;
	}

	get running(): boolean {
		return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
	}

	get log(): string {
		return this.output;
	}

	/** Starts (again) with the same cluster config file, so a restarted node keeps its id and slots. */
	async start(): Promise<void> {
		const args = [
			'--port', String(this.port),
			'--cluster-port', String(this.busPort),
			'--bind', '127.0.0.1',
			'--cluster-enabled', 'yes',
			'--cluster-config-file', path.join(this.dir, `nodes-${this.port}.conf`),
			'--cluster-node-timeout', String(NODE_TIMEOUT_MS),
			'--dir', this.dir,
			'--save', '',
			'--appendonly', 'no'
		]; // prettier-ignore
		const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
		this.child = child;
		running.add(child);
		child.once('exit', () => running.delete(child));
		const ready = new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`redis-server on ${this.port} did not start:\n${this.output}`)), 10_000);
			const onData = (chunk: Buffer) => {
				this.output += chunk.toString();
				if (/Ready to accept connections/i.test(this.output.slice(-4_000))) {
					clearTimeout(timer);
					resolve();
				}
			};
			child.stdout?.on('data', onData);
			child.stderr?.on('data', onData);
			child.once('exit', (code) => {
				clearTimeout(timer);
				reject(new Error(`redis-server on ${this.port} exited (${code}):\n${this.output}`));
			});
		});
		this.output += `--- start ---\n`;
		await ready;
	}

	/** SIGKILL by default: the node vanishes as a crashed machine would. */
	async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
		const child = this.child;
		if (!child || !this.running) return;
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		child.kill(signal);
		await exited;
	}

	async clusterInfo(): Promise<Record<string, string>> {
		const text = await redisCli(this.port, 'CLUSTER', 'INFO');
		return Object.fromEntries(
			text
				.split(/\r?\n/)
				.filter((line) => line.includes(':'))
				.map((line) => line.split(':', 2) as [string, string])
		);
	}
}

export class RedisCluster {
	private constructor(
		readonly nodes: RedisClusterNode[],
		private readonly dir: string
	) {}

	/** Starts `masters` nodes, joins them into a cluster with every slot assigned, and waits for `cluster_state:ok` on each. */
	static async start(masters = 3): Promise<RedisCluster> {
		const dir = mkdtempSync(path.join(os.tmpdir(), 'accord-redis-cluster-'));
		const nodes: RedisClusterNode[] = [];
		for (let i = 0; i < masters; i++) nodes.push(new RedisClusterNode(await freePort(), await freePort(), dir));
		const cluster = new RedisCluster(nodes, dir);
		try {
			await Promise.all(nodes.map((node) => node.start()));
			await cluster.create();
			await cluster.waitUntilOk();
		} catch (error) {
			await cluster.stop();
			throw error;
		}
		return cluster;
	}

	/** REDIS_CLUSTER_URLS for the servers: every node, comma-separated. */
	get urls(): string {
		return this.nodes.map((node) => node.url).join(',');
	}

	private async create(): Promise<void> {
		const addresses = this.nodes.map((node) => `127.0.0.1:${node.port}`);
		try {
			await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
			return;
		} catch (error) {
			const message = (error as Error).message;
			if (!/unrecognized|not supported|Unknown|Invalid option/i.test(message)) throw new Error(`redis-cli --cluster create failed: ${message}`);
		}
		// No cluster manager in this redis-cli: assign the slots in equal ranges and introduce the nodes.
		const share = Math.ceil(SLOTS / this.nodes.length);
		await Promise.all(
			this.nodes.map((node, i) => redisCli(node.port, 'CLUSTER', 'ADDSLOTSRANGE', String(i * share), String(Math.min(SLOTS, (i + 1) * share) - 1)))
		);
		for (const node of this.nodes.slice(1)) await redisCli(this.nodes[0].port, 'CLUSTER', 'MEET', '127.0.0.1', String(node.port), String(node.busPort));
	}

	/** Until every running node says `cluster_state:ok` (all slots served, every master reachable). */
	async waitUntilOk(timeoutMs = 20_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		let last = '';
		while (Date.now() < deadline) {
			const states = await Promise.all(
				this.nodes.filter((node) => node.running).map((node) => node.clusterInfo().then((info) => info.cluster_state, () => 'unreachable'))
			);
			last = states.join(', ');
			if (states.length > 0 && states.every((state) => state === 'ok')) return;
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		throw new Error(`the Redis Cluster did not reach cluster_state:ok within ${timeoutMs} ms (${last})`);
	}

	/** The master serving the slot of `key` (hash tags count: `{demo}` and `accord:{demo}:doc:x` share a slot). */
	async ownerOf(key: string): Promise<RedisClusterNode> {
		const asker = this.nodes.find((node) => node.running);
		if (!asker) throw new Error('no node of the cluster is running');
		const slot = Number((await redisCli(asker.port, 'CLUSTER', 'KEYSLOT', key)).trim());
		for (const node of this.nodes) {
			if (!node.running) continue;
			const nodesText = await redisCli(node.port, 'CLUSTER', 'NODES');
			const self = nodesText.split('\n').find((line) => line.includes('myself'));
			if (self && ownsSlot(self, slot)) return node;
		}
		throw new Error(`no running node serves slot ${slot} of ${key}`);
	}

	/** Subscribers of sharded channels, as the node serving them counts them (PUBSUB SHARDNUMSUB). */
	async shardSubscribers(channel: string): Promise<number> {
		const owner = await this.ownerOf(channel);
		const lines = (await redisCli(owner.port, 'PUBSUB', 'SHARDNUMSUB', channel)).trim().split(/\r?\n/);
		return Number(lines[1] ?? 0);
	}

	/** Subscribers of plain (unsharded) pub/sub channels, summed over every running node. */
	async plainSubscribers(channel: string): Promise<number> {
		let total = 0;
		for (const node of this.nodes.filter((n) => n.running)) {
			const lines = (await redisCli(node.port, 'PUBSUB', 'NUMSUB', channel)).trim().split(/\r?\n/);
			total += Number(lines[1] ?? 0);
		}
		return total;
	}

	/** Kills every node and removes the cluster config files. */
	async stop(): Promise<void> {
		await Promise.all(this.nodes.map((node) => node.kill('SIGKILL')));
		rmSync(this.dir, { recursive: true, force: true });
	}
}

/** Whether a CLUSTER NODES line's slot ranges (`0-5460 7000 …`) include `slot`. */
function ownsSlot(line: string, slot: number): boolean {
	return line
		.split(' ')
		.slice(8)
		.some((range) => {
			if (range.startsWith('[')) return false; // a slot being migrated or imported
			const [from, to = from] = range.split('-').map(Number);
			return from <= slot && slot <= to;
		});
}
