/**
 * Seals staged audit entries into the hash chain once their coalescing window has
 * closed, checking every second (cheap when there is nothing to seal), and seals
 * everything at shutdown. Entries staged by an instance that died are sealed by
 * whichever instance looks next. After a seal that sealed something, the chain's heads
 * are anchored outside the database (anchor.ts), at most every few seconds, and once
 * more at shutdown.
 */
import type { Logger } from '../log.ts';
import type { AuditStore } from './log-store.ts';
import { AnchorWriter, type AnchorConfig } from './anchor.ts';

const INTERVAL_MS = 1_000;

export interface SealerOptions {
	intervalMs?: number;
	/** Where (and whether signed) to anchor the chain; without it, nothing is anchored. */
	anchors?: AnchorConfig;
}

export class AuditSealer {
	private timer: ReturnType<typeof setTimeout> | null = null;
	private running: Promise<void> = Promise.resolve();
	private closed = false;
	private failing = false;
	private readonly intervalMs: number;
	private readonly anchors: AnchorWriter | null;

	constructor(
		private readonly audit: AuditStore,
		private readonly log: Logger,
		options: SealerOptions = {}
	) {
		this.intervalMs = options.intervalMs ?? INTERVAL_MS;
		this.anchors = options.anchors ? new AnchorWriter(audit, options.anchors, log) : null;
	}

	start(): void {
		this.schedule();
	}

	private schedule(): void {
		if (this.closed) return;
		this.timer = setTimeout(() => {
			this.timer = null;
			this.running = this.run().finally(() => this.schedule());
		}, this.intervalMs);
		this.timer.unref?.();
	}

	private async run(): Promise<void> {
		try {
			if ((await this.audit.seal()) > 0) this.anchors?.advanced();
			if (this.failing) this.log.info('sealing audit entries works again');
			this.failing = false;
		} catch (error) {
			if (!this.failing) this.log.warn('sealing audit entries failed; will retry', { error: (error as Error).message });
			this.failing = true;
		}
		// Also after a failed seal: an earlier seal may still be waiting for its anchor.
		await this.anchors?.write();
	}

	/** Seals everything staged, whatever its window, anchors the heads, and stops. */
	async close(): Promise<void> {
		this.closed = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		await this.running;
		try {
			if ((await this.audit.seal({ all: true })) > 0) this.anchors?.advanced();
		} catch (error) {
			this.log.warn('sealing audit entries at shutdown failed; they stay staged and are sealed at the next start', { error: (error as Error).message });
		}
		await this.anchors?.write(true);
	}
}
