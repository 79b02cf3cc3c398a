/**
 * The Redis bus, on node-redis: pub/sub with one channel per document, either on one
 * Redis (REDIS_URL; SUBSCRIBE/PUBLISH) or on a Redis Cluster (REDIS_CLUSTER_URLS;
 * sharded pub/sub, SSUBSCRIBE/SPUBLISH). Each message carries the publishing instance's
 * id so an instance can drop its own echoes. Pub/sub (not streams) because a missed
 * message costs nothing lasting: a document's state is in Postgres, every client
 * reconnect runs the state-vector exchange again, and after a lost Redis connection
 * every instance republishes its open documents (see the README, "Deployment: one
 * instance, many instances", for the measurements).
 *
 * On a cluster every channel of a workspace carries the workspace as its hash tag
 * (`accord:{<workspace>}:doc:<name>`), so one workspace's channels share one slot and so
 * one shard: one subscriber connection per instance reaches all of them, and a
 * workspace's traffic never crosses shards. Workspaces spread over the shards.
 *
 * Losing Redis, step by step (the same on one Redis and on a cluster):
 * - Either connection closes (or, on a cluster, the workspace's slot moved or the
 *   cluster is down): the bus is unhealthy, both connections are dropped, publishes are
 *   dropped (not queued without bound; the resynchronisation below replaces them),
 *   subscriptions are only remembered.
 * - The bus reconnects from scratch, backing off up to 2 s: on a cluster it first asks
 *   the nodes which master holds the workspace's slot now (a restarted master, or a
 *   replica promoted in its place), then opens both connections and subscribes to every
 *   channel it has handlers for (fresh connections, so node-redis' own resubscription
 *   never restores a channel unsubscribed meanwhile), and only then logs "redis
 *   connection back; resynchronising open documents", calls the resume listeners (Rooms
 *   republishes the state of each open document) and tells the other instances on a
 *   control channel.
 * - An instance that hears another one resumed republishes its open documents too: the
 *   other may have been unsubscribed while this one published, so what it missed is
 *   sent again now that it listens, whichever of the two came back first.
 */
import { createClient, type RedisClientType } from 'redis';
import type { Logger } from '../log.ts';
import type { Bus, BusHandler } from './types.ts';

const PREFIX = 'accord:';
const RESUMED = new TextEncoder().encode('resumed');
const ID_BYTES = 16;
/** Channels per SUBSCRIBE command when resubscribing everything. */
const SUBSCRIBE_CHUNK = 1_000;
const MAX_RECONNECT_DELAY_MS = 2_000;
const CONNECT_TIMEOUT_MS = 2_000;
/** Connecting and resubscribing everything, at most; a Redis that accepts but never answers is a failed attempt, not a hang. */
const OPEN_TIMEOUT_MS = 15_000;
/** Publishes waiting for a slow Redis, at most; past that they are dropped like those made while disconnected. */
const MAX_QUEUED_PUBLISHES = 100_000;
const PUBLISH_WARNING_INTERVAL_MS = 1_000;
/** Replies from a cluster node that mean the workspace's slot is not (or no longer) served where the bus is connected. */
const CLUSTER_MOVED = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b/;

/** Where the bus connects: one Redis, or a cluster where the workspace's channels live in one slot. */
export type RedisBusTarget = { kind: 'single'; url: string } | { kind: 'cluster'; urls: string[]; workspace: string };

type ConnectionName = 'publisher' | 'subscriber';
type Client = RedisClientType;

/** A pair of connections: one publishes, the other (in subscriber mode) listens. Replaced whole when either fails. */
interface Connection {
	readonly publisher: Client;
	readonly subscriber: Client;
	/** Where it is connected (the slot's master on a cluster). */
	readonly url: string;
	/** The channels subscribed while opening (the control channel and those with handlers then). */
	readonly subscribedAtOpen: Set<string>;
}

export class RedisBus implements Bus {
	readonly kind: 'redis' | 'redis-cluster';
	private readonly sharded: boolean;
	/** What every channel name starts with: `accord:` on one Redis, `accord:{workspace}:` on a cluster. */
	private readonly prefix: string;
	/** Instance-to-instance notices; not a document channel (those are `…doc:…`). */
	private readonly controlChannel: string;
	private connection: Connection | null = null;
	private readonly handlers = new Map<string, Set<BusHandler>>();
	/** SUBSCRIBE commands not yet confirmed, by channel. */
	private readonly subscribing = new Map<string, Promise<void>>();
	private readonly instanceId = crypto.getRandomValues(new Uint8Array(ID_BYTES));
	private readonly resumeListeners: Array<() => void> = [];
	/** Called when the connection drops: pending subscribe calls stop waiting for it. */
	private readonly lostWaiters = new Set<() => void>();
	private reconnecting: Promise<void> | null = null;
	private closing = false;
	/** Publishes dropped while disconnected (or refused by a full queue), reported when the connection is back. */
	private dropped = 0;
	private lastPublishWarning = 0;
	private readonly listener = (message: Buffer, channel: Buffer) => this.deliver(channel.toString(), message);

	private constructor(
		private readonly target: RedisBusTarget,
		private readonly log: Logger
	) {
		this.sharded = target.kind === 'cluster';
		this.kind = this.sharded ? 'redis-cluster' : 'redis';
		this.prefix = target.kind === 'cluster' ? `${PREFIX}{${target.workspace}}:` : PREFIX;
		this.controlChannel = `${this.prefix}control`;
	}

	/** Connects once; a Redis (or cluster) that cannot be reached at start is an error the operator sees. */
	static async connect(target: RedisBusTarget, log: Logger): Promise<RedisBus> {
		const bus = new RedisBus(target, log);
		try {
			bus.connection = await bus.open();
		} catch (error) {
			const where = target.kind === 'cluster' ? 'the Redis Cluster at REDIS_CLUSTER_URLS' : 'Redis at REDIS_URL';
			throw new Error(`Cannot reach ${where}: ${(error as Error).message}`);
		}
		log.info('redis bus connected', { mode: target.kind, node: bus.connection.url });
		return bus;
	}

	get healthy(): boolean {
		const connection = this.connection;
		return connection !== null && connection.publisher.isReady && connection.subscriber.isReady;
	}

	/**
	 * Resolves once Redis confirmed the subscription, so the caller can load afterwards
	 * and miss nothing. While Redis is unreachable it resolves at once: the channel is
	 * subscribed when the connection is back, and every instance then republishes.
	 */
	async subscribe(channel: string, handler: BusHandler): Promise<void> {
		const set = this.handlers.get(channel);
		if (set) {
			set.add(handler);
			// Another caller's SUBSCRIBE for this channel may still be on its way.
			await this.subscribing.get(channel);
			return;
		}
		this.handlers.set(channel, new Set([handler]));
		const connection = this.connection;
		if (!connection) return;
		const subscribing = this.untilLost(this.subscribeOn(connection, [this.prefix + channel]));
		this.subscribing.set(channel, subscribing);
		try {
			await subscribing;
		} finally {
			if (this.subscribing.get(channel) === subscribing) this.subscribing.delete(channel);
		}
	}

	async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
		const set = this.handlers.get(channel);
		if (!set) return;
		set.delete(handler);
		if (set.size > 0) return;
		this.handlers.delete(channel);
		const connection = this.connection;
		if (!connection) return; // the next connection subscribes only to channels with handlers
		const prefixed = this.prefix + channel;
		const command = this.sharded
			? connection.subscriber.sUnsubscribe(prefixed, this.listener, true)
			: connection.subscriber.unsubscribe(prefixed, this.listener, true);
		await this.untilLost(command);
	}

	publish(channel: string, message: Uint8Array): void {
		const connection = this.connection;
		if (!connection || !connection.publisher.isReady) {
			this.dropped++;
			return;
		}
		this.send(connection, this.prefix + channel, message);
	}

	onResume(listener: () => void): void {
		this.resumeListeners.push(listener);
	}

	async close(): Promise<void> {
		this.closing = true;
		this.handlers.clear();
		for (const wake of this.lostWaiters) wake();
		const connection = this.connection;
		this.connection = null;
		if (connection) await Promise.allSettled([closeClient(connection.publisher), closeClient(connection.subscriber)]);
	}

	/** Opens both connections to where the channels live and subscribes to the control channel and every channel with handlers. */
	private async open(): Promise<Connection> {
		let timer: ReturnType<typeof setTimeout> | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer within ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
		});
		try {
			return await this.openWithin(timeout);
		} finally {
			clearTimeout(timer);
		}
	}

	private async openWithin(timeout: Promise<never>): Promise<Connection> {
		const url = this.target.kind === 'cluster' ? await Promise.race([this.locateSlotOwner(this.target.urls), timeout]) : this.target.url;
		const options = {
			url,
			socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false as const },
			// Offline publishes are dropped by `publish`; this bounds those waiting for a slow Redis.
			commandsQueueMaxLength: MAX_QUEUED_PUBLISHES
		};
		const publisher = createClient(options) as Client;
		const subscriber = createClient(options) as Client;
		const subscribed = new Set<string>([this.controlChannel]);
		const connection: Connection = { publisher, subscriber, url, subscribedAtOpen: subscribed };
		for (const [name, client] of [
			['publisher', publisher],
			['subscriber', subscriber]
		] as const) {
			// node-redis reports a dropped socket as an error; with reconnection off the client is closed then.
			client.on('error', (error: Error) => this.connectionLost(connection, name, error));
		}
		// A cluster moved the workspace's slot elsewhere (resharding, a replica promoted): start over where it is now.
		subscriber.on('sharded-channel-moved', (channel: string) =>
			this.connectionLost(connection, 'subscriber', new Error(`the slot of ${channel} moved to another node`))
		);
		try {
			await Promise.race([this.connectAndSubscribe(connection), timeout]);
			// Either socket may have dropped meanwhile; its error was ignored (not yet the current connection), so it counts here.
			if (!publisher.isReady || !subscriber.isReady) throw new Error('a connection closed while subscribing');
			return connection;
		} catch (error) {
			destroyClient(publisher);
			destroyClient(subscriber);
			throw error;
		}
	}

	private async connectAndSubscribe(connection: Connection): Promise<void> {
		const { publisher, subscriber, subscribedAtOpen: subscribed } = connection;
		await Promise.all([publisher.connect(), subscriber.connect()]);
		await this.subscribeOn(connection, [this.controlChannel]);
		// Channels may be added while the SUBSCRIBE commands are on their way: go round until none is missing.
		for (;;) {
			const missing = [...this.handlers.keys()].map((channel) => this.prefix + channel).filter((channel) => !subscribed.has(channel));
			if (missing.length === 0) break;
			for (let i = 0; i < missing.length; i += SUBSCRIBE_CHUNK) {
				const chunk = missing.slice(i, i + SUBSCRIBE_CHUNK);
				await this.subscribeOn(connection, chunk);
				for (const channel of chunk) subscribed.add(channel);
			}
		}
	}

	private async subscribeOn(connection: Connection, channels: string[]): Promise<void> {
		if (this.sharded) await connection.subscriber.sSubscribe(channels, this.listener, true);
		else await connection.subscriber.subscribe(channels, this.listener, true);
	}

	/**
	 * The master that serves the workspace's slot, asked of the configured nodes in turn
	 * (CLUSTER KEYSLOT, then CLUSTER SLOTS). Credentials and TLS come from the node URL
	 * that answered.
	 */
	private async locateSlotOwner(urls: string[]): Promise<string> {
		const failures: string[] = [];
		for (const seed of urls) {
			const client = createClient({ url: seed, socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false } });
			client.on('error', () => undefined); // the failure is reported through the rejected command
			try {
				await client.connect();
				const slot = Number(await client.sendCommand(['CLUSTER', 'KEYSLOT', this.controlChannel]));
				const ranges = (await client.sendCommand(['CLUSTER', 'SLOTS'])) as unknown as Array<[number, number, [string | Buffer, number, ...unknown[]], ...unknown[]]>;
				const range = ranges.find(([from, to]) => from <= slot && slot <= to);
				if (!range) throw new Error(`no node serves slot ${slot}`);
				const [host, port] = range[2];
				const owner = new URL(seed);
				if (String(host)) owner.hostname = String(host);
				owner.port = String(port);
				return owner.toString();
			} catch (error) {
				failures.push(`${redactedUrl(seed)}: ${(error as Error).message}`);
			} finally {
				destroyClient(client);
			}
		}
		throw new Error(`no node told where the workspace's slot is (${failures.join('; ')})`);
	}

	private send(connection: Connection, prefixedChannel: string, message: Uint8Array): void {
		const framed = Buffer.allocUnsafe(ID_BYTES + message.byteLength);
		framed.set(this.instanceId, 0);
		framed.set(message, ID_BYTES);
		// Publishes of one turn (a group commit stored many updates at once) leave in one write: node-redis writes a turn's commands together.
		const command = this.sharded ? connection.publisher.sPublish(prefixedChannel, framed) : connection.publisher.publish(prefixedChannel, framed);
		command.catch((error: Error) => {
			if (this.sharded && CLUSTER_MOVED.test(error.message)) {
				this.connectionLost(connection, 'publisher', error);
				return;
			}
			if (connection !== this.connection) return; // that connection is gone; the resume replaces what it lost
			this.dropped++;
			const now = Date.now();
			if (now - this.lastPublishWarning < PUBLISH_WARNING_INTERVAL_MS) return;
			this.lastPublishWarning = now;
			this.log.warn('redis publish failed', { channel: prefixedChannel, error: error.message, droppedSoFar: this.dropped });
		});
	}

	/** The command's outcome, or nothing once the connection is lost (the resume takes over then). */
	private async untilLost(command: Promise<unknown>): Promise<void> {
		let wake!: () => void;
		const lost = new Promise<void>((resolve) => this.lostWaiters.add((wake = resolve)));
		try {
			await Promise.race([command.catch((error: Error) => this.log.warn('redis command failed', { error: error.message })), lost]);
		} finally {
			this.lostWaiters.delete(wake);
		}
	}

	private connectionLost(connection: Connection, name: ConnectionName, error: Error): void {
		if (this.closing || connection !== this.connection) return;
		this.connection = null;
		this.log.warn('redis connection lost; retrying', { connection: name, node: redactedUrl(connection.url), error: error.message });
		for (const wake of this.lostWaiters) wake();
		destroyClient(connection.publisher);
		destroyClient(connection.subscriber);
		this.reconnecting ??= this.reconnect().finally(() => (this.reconnecting = null));
	}

	private async reconnect(): Promise<void> {
		for (let attempt = 1; !this.closing && !this.connection; attempt++) {
			await new Promise((resolve) => setTimeout(resolve, Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS)));
			if (this.closing) return;
			let connection: Connection;
			try {
				connection = await this.open();
			} catch (error) {
				this.log.debug('redis reconnect attempt failed', { attempt, error: (error as Error).message });
				continue;
			}
			if (this.closing) {
				destroyClient(connection.publisher);
				destroyClient(connection.subscriber);
				return;
			}
			this.connection = connection;
			// Channels whose last handler went while the SUBSCRIBE commands were on their way.
			for (const prefixed of connection.subscribedAtOpen) {
				if (prefixed === this.controlChannel || this.handlers.has(prefixed.slice(this.prefix.length))) continue;
				const command = this.sharded ? connection.subscriber.sUnsubscribe(prefixed, this.listener, true) : connection.subscriber.unsubscribe(prefixed, this.listener, true);
				void this.untilLost(command);
			}
			this.log.info('redis connection back; resynchronising open documents', {
				node: redactedUrl(connection.url),
				documents: this.handlers.size,
				droppedWhileAway: this.dropped
			});
			this.dropped = 0;
			this.send(connection, this.controlChannel, RESUMED);
			this.notifyResume();
		}
	}

	private notifyResume(): void {
		for (const listener of this.resumeListeners) {
			try {
				listener();
			} catch (error) {
				this.log.warn('a resume listener failed', { error: (error as Error).message });
			}
		}
	}

	private deliver(prefixedChannel: string, framed: Buffer): void {
		if (framed.byteLength < ID_BYTES) return;
		if (Buffer.compare(framed.subarray(0, ID_BYTES), this.instanceId) === 0) return;
		const message = new Uint8Array(framed.buffer, framed.byteOffset + ID_BYTES, framed.byteLength - ID_BYTES);
		if (prefixedChannel === this.controlChannel) {
			if (Buffer.from(message).equals(RESUMED)) {
				this.log.info('another instance reconnected to redis; resending open documents', { documents: this.handlers.size });
				this.notifyResume();
			}
			return;
		}
		if (!prefixedChannel.startsWith(this.prefix)) return;
		const handlers = this.handlers.get(prefixedChannel.slice(this.prefix.length));
		if (!handlers) return;
		for (const handler of handlers) handler(message);
	}
}

/** Closes gracefully (pending commands finish), or at once if the socket is already gone. */
async function closeClient(client: Client): Promise<void> {
	if (!client.isOpen) return;
	await Promise.race([client.close(), new Promise((resolve) => setTimeout(resolve, 1_000))]);
	destroyClient(client);
}

function destroyClient(client: { isOpen: boolean; destroy(): void }): void {
	if (!client.isOpen) return;
	try {
		client.destroy();
	} catch {
		// already closed by node-redis after a socket error
	}
}

/** A node URL for logs, without its password. */
function redactedUrl(url: string): string {
	try {
		const parsed = new URL(url);
		if (parsed.password) parsed.password = '***';
		return parsed.toString();
	} catch {
		return '(invalid url)';
	}
}
