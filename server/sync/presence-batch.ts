/**
 * A room's presence changes, relayed in batches: one awareness message carries every
 * client id that changed, to each peer in one frame, instead of one message per change.
 *
 * Changes (a state added, changed or removed) go out at the end of the turn they
 * happened in. Renewals (a client re-sending an unchanged state so that it does not
 * time out, every 15 s per client in y-protocols) wait up to RENEWAL_DELAY_MS and go
 * out together: in a room of n people they used to cost n² frames per 15 s, and
 * nothing waits for them except a timeout of 30 s (y-protocols' `outdatedTimeout`),
 * which a renewal still beats after waiting here and on another instance.
 */
import { atEndOfTurn } from './outbox.ts';

export const RENEWAL_DELAY_MS = 2_000;

/** Where a batch goes: each client id with the origin of its latest change (a peer, 'bus', 'local', 'timeout'). */
export type PresenceFlush = (batch: ReadonlyMap<number, unknown>) => void;

export class PresenceBatch {
	private clients = new Map<number, unknown>();
	private urgent = false;
	private renewalTimer: ReturnType<typeof setTimeout> | null = null;
	private stopped = false;

	constructor(private readonly flushTo: PresenceFlush) {}

	/** States added, changed or removed: relayed at the end of this turn. */
	changed(clients: readonly number[], origin: unknown): void {
		this.add(clients, origin);
		if (this.urgent) return;
		this.urgent = true;
		atEndOfTurn(this.flush);
	}

	/** Unchanged states re-sent to keep them alive: relayed within RENEWAL_DELAY_MS, with whatever else is due. */
	renewed(clients: readonly number[], origin: unknown): void {
		this.add(clients, origin);
		if (this.urgent || this.renewalTimer) return;
		this.renewalTimer = setTimeout(this.flush, RENEWAL_DELAY_MS);
	}

	stop(): void {
		this.stopped = true;
		if (this.renewalTimer) clearTimeout(this.renewalTimer);
		this.renewalTimer = null;
		this.clients.clear();
	}

	private add(clients: readonly number[], origin: unknown): void {
		for (const client of clients) this.clients.set(client, origin);
	}

	private readonly flush = (): void => {
		this.urgent = false;
		if (this.renewalTimer) clearTimeout(this.renewalTimer);
		this.renewalTimer = null;
		if (this.stopped || this.clients.size === 0) return;
		const batch = this.clients;
		this.clients = new Map();
		this.flushTo(batch);
	};
}
