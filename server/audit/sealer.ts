/**
 * Seals staged audit entries into the hash chain once their coalescing window has
 * closed, checking every second (cheap when there is nothing to seal), and seals
 * everything at shutdown. Entries staged by an instance that died are sealed by
 * whichever instance looks next.
 */
import type { Logger } from '../log.ts';
import type { AuditStore } from '../store/audit-store.ts';

const INTERVAL_MS = 1_000;

export class AuditSealer {
	private timer: ReturnType<typeof setTimeout> | null = null;
	private running: Promise<void> = Promise.resolve();
	private closed = false;
	private failing = false;

	constructor(
		private readonly audit: AuditStore,
		private readonly log: Logger,
		private readonly intervalMs = INTERVAL_MS
	) {}

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
			await this.audit.seal();
			if (this.failing) this.log.info('sealing audit entries works again');
			this.failing = false;
		} catch (error) {
			if (!this.failing) this.log.warn('sealing audit entries failed; will retry', { error: (error as Error).message });
			this.failing = true;
		}
	}

	/** Seals everything staged, whatever its window, and stops. */
	async close(): Promise<void> {
		this.closed = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		await this.running;
		try {
			await this.audit.seal({ all: true });
		} catch (error) {
			this.log.warn('sealing audit entries at shutdown failed; they stay staged and are sealed at the next start', { error: (error as Error).message });
		}
	}
}
