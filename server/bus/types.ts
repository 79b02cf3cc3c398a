/**
 * The bus carries document updates and awareness between server instances. A message
 * published by an instance never comes back to that instance's own subscribers.
 */
export type BusHandler = (message: Uint8Array) => void;

export interface Bus {
	readonly kind: 'memory' | 'redis';
	/** Resolves once the subscription is active, so a caller can subscribe first and load second. */
	subscribe(channel: string, handler: BusHandler): Promise<void>;
	unsubscribe(channel: string, handler: BusHandler): Promise<void>;
	publish(channel: string, message: Uint8Array): void;
	/** Called after the bus lost its connection and got it back: subscribers may have missed messages. */
	onResume(listener: () => void): void;
	readonly healthy: boolean;
	close(): Promise<void>;
}
