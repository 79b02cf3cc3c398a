/**
 * The Redis bus: plain pub/sub, one channel per document. Each message carries the
 * publishing instance's id so an instance can drop its own echoes. Pub/sub (not
 * streams) because a missed message costs nothing lasting: a document's state is in
 * Postgres and every reconnect runs the state-vector exchange again.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { Bus, BusHandler } from './types.ts';

const PREFIX = 'accord:';
const ID_BYTES = 16;

export class RedisBus implements Bus {
	readonly kind = 'redis' as const;
	private readonly publisher: Redis;
	private readonly subscriber: Redis;
	private readonly handlers = new Map<string, Set<BusHandler>>();
	private readonly instanceId = crypto.getRandomValues(new Uint8Array(ID_BYTES));
	private readonly resumeListeners: Array<() => void> = [];
	private lostConnection = false;

	private constructor(url: string, private readonly log: Logger) {
		const options = { maxRetriesPerRequest: null, enableOfflineQueue: true, lazyConnect: true };
		this.publisher = new Redis(url, options);
		this.subscriber = new Redis(url, options);
		this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.deliver(channel.toString(), message));
		for (const [name, connection] of [
			['publisher', this.publisher],
			['subscriber', this.subscriber]
		] as const) {
			connection.on('error', (error: Error) => {
				if (!this.lostConnection) log.warn('redis connection lost; retrying', { connection: name, error: error.message });
				this.lostConnection = true;
			});
		}
		this.subscriber.on('ready', () => {
			if (!this.lostConnection) return;
			this.lostConnection = false;
			log.info('redis connection back; resynchronising open documents');
			for (const listener of this.resumeListeners) listener();
		});
	}

	static async connect(url: string, log: Logger): Promise<RedisBus> {
		const bus = new RedisBus(url, log);
		await Promise.all([bus.publisher.connect(), bus.subscriber.connect()]);
		return bus;
	}

	get healthy(): boolean {
		return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
	}

	async subscribe(channel: string, handler: BusHandler): Promise<void> {
		let set = this.handlers.get(channel);
		if (!set) {
			this.handlers.set(channel, (set = new Set()));
			set.add(handler);
			await this.subscriber.subscribe(PREFIX + channel);
		} else {
			set.add(handler);
		}
	}

	async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
		const set = this.handlers.get(channel);
		if (!set) return;
		set.delete(handler);
		if (set.size === 0) {
			this.handlers.delete(channel);
			await this.subscriber.unsubscribe(PREFIX + channel).catch(() => undefined);
		}
	}

	publish(channel: string, message: Uint8Array): void {
		const framed = Buffer.allocUnsafe(ID_BYTES + message.byteLength);
		framed.set(this.instanceId, 0);
		framed.set(message, ID_BYTES);
		this.publisher.publish(PREFIX + channel, framed).catch((error: Error) => {
			this.log.warn('redis publish failed', { channel, error: error.message });
		});
	}

	onResume(listener: () => void): void {
		this.resumeListeners.push(listener);
	}

	private deliver(prefixedChannel: string, framed: Buffer): void {
		if (framed.byteLength < ID_BYTES) return;
		if (Buffer.compare(framed.subarray(0, ID_BYTES), this.instanceId) === 0) return;
		const handlers = this.handlers.get(prefixedChannel.slice(PREFIX.length));
		if (!handlers) return;
		const message = new Uint8Array(framed.buffer, framed.byteOffset + ID_BYTES, framed.byteLength - ID_BYTES);
		for (const handler of handlers) handler(message);
	}

	async close(): Promise<void> {
		this.handlers.clear();
		await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
	}
}
