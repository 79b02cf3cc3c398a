/**
 * The Redis bus: plain pub/sub, one channel per document. Each message carries the
 * publishing instance's id so an instance can drop its own echoes. Pub/sub (not
 * streams) because a missed message costs nothing lasting: a document's state is in
 * Postgres, every client reconnect runs the state-vector exchange again, and after a
 * lost Redis connection every instance republishes its open documents (see the README,
 * "Deployment: one instance, many instances", for the measurements).
 *
 * Losing Redis, step by step:
 * - Either connection closes: the bus is unhealthy, publishes are dropped (not queued
 *   without bound; the resynchronisation below replaces them), subscriptions are only
 *   remembered.
 * - Both connections are ready again: the bus subscribes to every channel it has
 *   handlers for (ioredis' own resubscription is off: it would also restore channels
 *   unsubscribed meanwhile, and it does not say when it is done), and only then logs
 *   "redis connection back; resynchronising open documents", calls the resume
 *   listeners (Rooms republishes the state of each open document) and tells the other
 *   instances on a control channel.
 * - An instance that hears another one resumed republishes its open documents too: the
 *   other may have been unsubscribed while this one published, so what it missed is
 *   sent again now that it listens, whichever of the two came back first.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { Bus, BusHandler } from './types.ts';

const PREFIX = 'accord:';
/** Instance-to-instance notices; not a document channel (those are `accord:doc:…`). */
const CONTROL_CHANNEL = `${PREFIX}control`;
const RESUMED = new TextEncoder().encode('resumed');
const ID_BYTES = 16;
/** Channels per SUBSCRIBE command when resubscribing everything. */
const SUBSCRIBE_CHUNK = 1_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

type ConnectionName = 'publisher' | 'subscriber';

export class RedisBus implements Bus {
	readonly kind = 'redis' as const;
	private readonly publisher: Redis;
	private readonly subscriber: Redis;
	private readonly handlers = new Map<string, Set<BusHandler>>();
	/** SUBSCRIBE commands not yet confirmed, by channel. */
	private readonly subscribing = new Map<string, Promise<void>>();
	private readonly instanceId = crypto.getRandomValues(new Uint8Array(ID_BYTES));
	private readonly resumeListeners: Array<() => void> = [];
	/** Called when a connection drops: pending subscribe calls stop waiting for it. */
	private readonly lostWaiters = new Set<() => void>();
	/** A connection dropped and the bus has not resubscribed since. */
	private lost = false;
	private resuming = false;
	private closing = false;
	private lastError: string | undefined;
	/** Publishes dropped while disconnected, reported when the connection is back. */
	private dropped = 0;

	private constructor(
		url: string,
		private readonly log: Logger
	) {
		const options = {
			maxRetriesPerRequest: null,
			enableOfflineQueue: true,
			lazyConnect: true,
			autoResubscribe: false,
			retryStrategy: (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS)
		};
		// Publishes of one turn (a group commit stored many updates at once) leave in one write, not one each.
		this.publisher = new Redis(url, { ...options, enableAutoPipelining: true });
		this.subscriber = new Redis(url, options);
		this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.deliver(channel.toString(), message));
		for (const [name, connection] of [
			['publisher', this.publisher],
			['subscriber', this.subscriber]
		] as const) {
			connection.on('error', (error: Error) => {
				this.lastError = error.message;
				log.debug('redis connection error', { connection: name, error: error.message });
			});
			connection.on('close', () => this.connectionLost(name));
			connection.on('ready', () => void this.connectionBack());
		}
	}

	static async connect(url: string, log: Logger): Promise<RedisBus> {
		const bus = new RedisBus(url, log);
		try {
			await Promise.all([bus.publisher.connect(), bus.subscriber.connect()]);
			await bus.subscriber.subscribe(CONTROL_CHANNEL);
		} catch (error) {
			bus.closing = true;
			bus.publisher.disconnect();
			bus.subscriber.disconnect();
			throw new Error(`Cannot reach Redis at REDIS_URL: ${(error as Error).message}`);
		}
		return bus;
	}

	get healthy(): boolean {
		return !this.lost && this.publisher.status === 'ready' && this.subscriber.status === 'ready';
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
		if (this.lost || this.subscriber.status !== 'ready') return;
		const subscribing = this.untilLost(this.subscriber.subscribe(PREFIX + channel));
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
		if (this.lost || this.subscriber.status !== 'ready') return; // not resubscribed on resume
		await this.untilLost(this.subscriber.unsubscribe(PREFIX + channel));
	}

	publish(channel: string, message: Uint8Array): void {
		if (this.lost || this.publisher.status !== 'ready') {
			this.dropped++;
			return;
		}
		this.send(PREFIX + channel, message);
	}

	onResume(listener: () => void): void {
		this.resumeListeners.push(listener);
	}

	async close(): Promise<void> {
		this.closing = true;
		this.handlers.clear();
		for (const wake of this.lostWaiters) wake();
		await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
	}

	private send(prefixedChannel: string, message: Uint8Array): void {
		const framed = Buffer.allocUnsafe(ID_BYTES + message.byteLength);
		framed.set(this.instanceId, 0);
		framed.set(message, ID_BYTES);
		this.publisher.publish(prefixedChannel, framed).catch((error: Error) => {
			this.log.warn('redis publish failed', { channel: prefixedChannel, error: error.message });
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

	private connectionLost(name: ConnectionName): void {
		if (this.closing) return;
		if (!this.lost) {
			this.lost = true;
			this.log.warn('redis connection lost; retrying', { connection: name, error: this.lastError });
		}
		for (const wake of this.lostWaiters) wake();
	}

	private async connectionBack(): Promise<void> {
		// Loops in case the connection dropped and came back while resubscribing.
		while (this.lost && !this.resuming && !this.closing && this.publisher.status === 'ready' && this.subscriber.status === 'ready') {
			this.resuming = true;
			this.lost = false;
			const channels = [CONTROL_CHANNEL, ...[...this.handlers.keys()].map((channel) => PREFIX + channel)];
			let subscribed = true;
			try {
				for (let i = 0; i < channels.length; i += SUBSCRIBE_CHUNK) {
					await this.subscriber.subscribe(...channels.slice(i, i + SUBSCRIBE_CHUNK));
				}
			} catch (error) {
				subscribed = false;
				this.lost = true;
				this.log.warn('resubscribing after the redis connection came back failed; retrying', { error: (error as Error).message });
			} finally {
				this.resuming = false;
			}
			if (!subscribed) {
				await new Promise((resolve) => setTimeout(resolve, MAX_RECONNECT_DELAY_MS));
				continue;
			}
			if (this.lost) continue;
			this.log.info('redis connection back; resynchronising open documents', {
				documents: this.handlers.size,
				droppedWhileAway: this.dropped
			});
			this.dropped = 0;
			this.send(CONTROL_CHANNEL, RESUMED);
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
		if (prefixedChannel === CONTROL_CHANNEL) {
			if (Buffer.from(message).equals(RESUMED)) {
				this.log.info('another instance reconnected to redis; resending open documents', { documents: this.handlers.size });
				this.notifyResume();
			}
			return;
		}
		const handlers = this.handlers.get(prefixedChannel.slice(PREFIX.length));
		if (!handlers) return;
		for (const handler of handlers) handler(message);
	}
}
