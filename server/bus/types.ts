/**
 * The bus carries document updates and awareness between server instances. A message
 * published by an instance never comes back to that instance's own subscribers.
 */
export type BusHandler = (message: Uint8Array) => void;

export interface Bus {
	readonly kind: 'memory' | 'redis' | 'redis-cluster';
	/**
	 * Resolves once the subscription is active, so a caller can subscribe first and load
	 * second. While the bus is disconnected it resolves at once; the subscription is made
	 * when the connection is back, followed by a resume.
	 */
	subscribe(channel: string, handler: BusHandler): Promise<void>;
	unsubscribe(channel: string, handler: BusHandler): Promise<void>;
	publish(channel: string, message: Uint8Array): void;
	/**
	 * Called after the bus lost its connection and got it back (subscriptions restored),
	 * or after another instance did: subscribers may have missed messages, and others
	 * may have missed ours.
	 */
	onResume(listener: () => void): void;
	readonly healthy: boolean;
	close(): Promise<void>;
}
