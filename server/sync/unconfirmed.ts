/**
 * Updates another instance published before storing them (pipeline.ts, step 8), applied
 * here and held until their origin says they are stored. Should the origin fall silent
 * (it died between publishing and committing), this instance stores the update itself,
 * with the audit entries and bindings the message carried: `takeOver`. The store keeps
 * that exactly once whoever stores first (server/store/types.ts, UpdateKey), so taking
 * over an update its origin did store after all costs a skipped write, nothing more.
 *
 * When to take over: once the update has waited `afterMs` and nothing has been heard
 * from its origin for as long (no update, no `stored` notice of its own). An origin that
 * is alive but slow to commit (a backlog under heavy load) keeps its updates, rather
 * than every receiver writing them again and slowing the database further; its writer
 * retries until they are stored, and should it die, its silence starts the clock. Its
 * writer stores in the order it numbers updates, so its notice for update n says every
 * earlier one of its updates is stored too (or its document is gone): held ones are let
 * go up to n. A notice from an instance that took updates over names just those.
 *
 * One set for the whole instance, not per document: a document unloaded meanwhile still
 * has its held updates stored. Outsiders cannot grow it directly (only instances publish
 * on the bus), but a dead or stuck origin under load could: past its bound (updates or
 * bytes), the oldest are taken over early rather than dropped. While anything is held,
 * a sweep runs a few times per `afterMs`; one that runs late (this instance's event loop
 * was busy: an overloaded receiver has not read what the origins said) takes nothing
 * over, so overload does not turn into every receiver writing everything again.
 */
import type { CarriedUpdate } from './bus-codec.ts';

/** How long an update from another instance, and its silent origin, wait before this instance stores it. */
export const TAKE_OVER_AFTER_MS = 2_500;
/**
 * Held updates at most, and their bytes at most; past either, the oldest are stored at
 * once. Well above one origin's writer bound (ACCORD_MAX_PENDING_WRITES, 20,000): an
 * origin with a full backlog must not push its receivers into writing it again.
 */
export const MAX_UNCONFIRMED_UPDATES = 50_000;
export const MAX_UNCONFIRMED_BYTES = 64 * 1024 * 1024;
/** Sweeps per deadline. */
const SWEEPS = 5;

interface Held {
	documentId: string;
	carried: CarriedUpdate;
	bytes: number;
	receivedAt: number;
	/** Its place among the updates of its document held so far (`settled` waits by it). */
	order: number;
}

/** A document's held updates, in the order they came, and who waits for those held so far to be let go. */
interface OfDocument {
	held: Map<number, Held>;
	next: number;
	/** Each resolves once every update held before it asked is let go; in the order they asked. */
	waiters: Array<{ upTo: number; resolve(): void }>;
}

export interface UnconfirmedOptions {
	afterMs?: number;
	maxUpdates?: number;
	maxBytes?: number;
	/** Stores the update here, in its origin's place. */
	takeOver(documentId: string, carried: CarriedUpdate): void;
}

export class Unconfirmed {
	/** By `origin/id`, in the order they came. */
	private readonly held = new Map<string, Held>();
	/** The same, per origin, in the order they came (so by id: an origin numbers its updates as it publishes them). */
	private readonly byOrigin = new Map<string, Map<number, Held>>();
	/** The same, per document. */
	private readonly byDocument = new Map<string, OfDocument>();
	/** When each origin was last heard from (an update, or a notice of its own). */
	private readonly heard = new Map<string, number>();
	private bytes = 0;
	private timer: ReturnType<typeof setInterval> | null = null;
	private readonly interval: number;
	/** When the last sweep ran (a sweep running late says this instance was stalled, not that origins were silent). */
	private lastSweep = 0;
	private readonly afterMs: number;
	private readonly maxUpdates: number;
	private readonly maxBytes: number;
	/** Updates handed to `takeOver` since start (for health and tests). */
	takenOver = 0;

	constructor(private readonly options: UnconfirmedOptions) {
		this.afterMs = options.afterMs ?? TAKE_OVER_AFTER_MS;
		this.maxUpdates = options.maxUpdates ?? MAX_UNCONFIRMED_UPDATES;
		this.maxBytes = options.maxBytes ?? MAX_UNCONFIRMED_BYTES;
		this.interval = Math.max(1, Math.floor(this.afterMs / SWEEPS));
	}

	get size(): number {
		return this.held.size;
	}

	/** Holds an update of `documentId` until it is confirmed, or its origin falls silent. */
	hold(documentId: string, carried: CarriedUpdate): void {
		const now = Date.now();
		this.heard.set(carried.origin, now);
		const key = keyOf(carried.origin, carried.id);
		if (this.held.has(key)) return;
		let ofDocument = this.byDocument.get(documentId);
		if (!ofDocument) this.byDocument.set(documentId, (ofDocument = { held: new Map(), next: 0, waiters: [] }));
		const held: Held = { documentId, carried, bytes: carried.update.byteLength + 256 * carried.drafts.length, receivedAt: now, order: ofDocument.next++ };
		ofDocument.held.set(held.order, held);
		this.held.set(key, held);
		let ofOrigin = this.byOrigin.get(carried.origin);
		if (!ofOrigin) this.byOrigin.set(carried.origin, (ofOrigin = new Map()));
		ofOrigin.set(carried.id, held);
		this.bytes += held.bytes;
		while (this.held.size > this.maxUpdates || (this.bytes > this.maxBytes && this.held.size > 0)) this.takeOverHeld(this.held.values().next().value as Held);
		if (!this.timer && this.held.size > 0) {
			this.lastSweep = now;
			this.timer = setInterval(this.sweep, this.interval);
			this.timer.unref?.();
		}
	}

	/**
	 * Updates of `origin` are stored: by the origin itself (`byTaker` false: every one of
	 * its updates up to the highest named is stored), or by an instance that took them over.
	 */
	confirm(origin: string, ids: readonly number[], byTaker: boolean): void {
		const ofOrigin = this.byOrigin.get(origin);
		if (!byTaker) this.heard.set(origin, Date.now());
		if (!ofOrigin) return;
		if (byTaker) {
			for (const id of ids) {
				const held = ofOrigin.get(id);
				if (held) this.release(held);
			}
		} else {
			const upTo = Math.max(...ids);
			for (const held of ofOrigin.values()) {
				if (held.carried.id > upTo) break;
				this.release(held);
			}
		}
		if (this.held.size === 0) this.stop();
	}

	/**
	 * Resolves once every update of the document held now is let go: stored by its origin
	 * or a taker, or handed to `takeOver` (whose write the caller waits for then, as for
	 * its own). Undefined when none is held, which is nearly always. A client that syncs
	 * with this instance may send nothing of what this instance got from the bus: its
	 * `saved` must wait for those too, or it would drop its copy of an update nobody stored.
	 */
	settled(documentId: string): Promise<void> | undefined {
		const ofDocument = this.byDocument.get(documentId);
		if (!ofDocument) return undefined;
		return new Promise((resolve) => ofDocument.waiters.push({ upTo: ofDocument.next - 1, resolve }));
	}

	/** Everything still held is taken over now (the instance is stopping: nobody would store it here later). */
	drain(): void {
		this.stop();
		for (const held of [...this.held.values()]) this.takeOverHeld(held);
	}

	private readonly sweep = (): void => {
		const now = Date.now();
		// Late by more than a sweep: this instance's event loop was busy, and what the origins
		// said meanwhile may still wait to be read (timers run before I/O). Not silence: next time.
		const stalled = now - this.lastSweep > 2 * this.interval;
		this.lastSweep = now;
		if (stalled) return;
		for (const held of this.held.values()) {
			// The rest came later: none has waited long enough.
			if (held.receivedAt + this.afterMs > now) break;
			if ((this.heard.get(held.carried.origin) ?? 0) + this.afterMs <= now) this.takeOverHeld(held);
		}
		if (this.held.size === 0) this.stop();
		// Origins nothing is held of are forgotten (instances come and go).
		for (const origin of this.heard.keys()) if (!this.byOrigin.has(origin) && (this.heard.get(origin) ?? 0) + this.afterMs <= now) this.heard.delete(origin);
	};

	private takeOverHeld(held: Held): void {
		this.release(held);
		this.takenOver++;
		this.options.takeOver(held.documentId, held.carried);
	}

	private release(held: Held): void {
		const { origin, id } = held.carried;
		this.held.delete(keyOf(origin, id));
		const ofOrigin = this.byOrigin.get(origin);
		ofOrigin?.delete(id);
		if (ofOrigin?.size === 0) this.byOrigin.delete(origin);
		this.bytes -= held.bytes;
		const ofDocument = this.byDocument.get(held.documentId);
		if (!ofDocument) return;
		ofDocument.held.delete(held.order);
		// The first still held (a Map keeps the order they came in) bounds who can go.
		const first = ofDocument.held.size === 0 ? Infinity : (ofDocument.held.keys().next().value as number);
		let done = 0;
		while (done < ofDocument.waiters.length && ofDocument.waiters[done].upTo < first) ofDocument.waiters[done++].resolve();
		if (done > 0) ofDocument.waiters.splice(0, done);
		if (ofDocument.held.size === 0) this.byDocument.delete(held.documentId);
	}

	private stop(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
	}
}

function keyOf(origin: string, id: number): string {
	return `${origin}/${id}`;
}
