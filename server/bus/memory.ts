/**
 * The in-process bus. Instances created from one hub see each other's messages, which
 * lets tests run several instances in one process; a single server has nobody to tell.
 */
import type { Bus, BusHandler } from './types.ts';

export class MemoryHub {
	readonly channels = new Map<string, Set<{ bus: MemoryBus; handler: BusHandler }>>();
}

const defaultHub = new MemoryHub();

export class MemoryBus implements Bus {
	readonly kind = 'memory' as const;
	readonly healthy = true;
	constructor(private readonly hub: MemoryHub = defaultHub) {}

	async subscribe(channel: string, handler: BusHandler): Promise<void> {
		let subscribers = this.hub.channels.get(channel);
		if (!subscribers) this.hub.channels.set(channel, (subscribers = new Set()));
		subscribers.add({ bus: this, handler });
	}

	async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
		const subscribers = this.hub.channels.get(channel);
		if (!subscribers) return;
		for (const entry of subscribers) if (entry.bus === this && entry.handler === handler) subscribers.delete(entry);
		if (subscribers.size === 0) this.hub.channels.delete(channel);
	}

	publish(channel: string, message: Uint8Array): void {
		const subscribers = this.hub.channels.get(channel);
		if (!subscribers) return;
		for (const { bus, handler } of subscribers) if (bus !== this) queueMicrotask(() => handler(message));
	}

	onResume(): void {}

	async close(): Promise<void> {
		for (const [channel, subscribers] of this.hub.channels) {
			for (const entry of subscribers) if (entry.bus === this) subscribers.delete(entry);
			if (subscribers.size === 0) this.hub.channels.delete(channel);
		}
	}
}
