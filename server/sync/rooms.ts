/**
 * The loaded rooms of this instance: loading documents on demand (subscribe to the
 * bus first, then load, then apply what arrived in between), storing their changes,
 * keeping projections current, compacting logs and unloading idle documents. What happens
 * to each update is the ordered list of steps of pipeline.ts, assembled here with what
 * each step needs of this instance (writer, bus, binding store, projection schedule).
 *
 * With other instances (a Redis bus), updates are published before they are stored
 * (steps/publish.ts): those of others are held here until their origin says they are
 * stored, and stored by this instance when the origin falls silent (unconfirmed.ts). A
 * `stored` notice for an update this instance never received says it was published
 * before this instance subscribed, and perhaps stored after it loaded: the document is
 * read again from the database.
 */
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import * as syncProtocol from 'y-protocols/sync';
import { canonicalRecordId } from '../../src/lib/model/record.ts';
import type { RecordVisibility } from '../../src/lib/access.ts';
import { MessageType, WORKSPACE_CHANNEL_PREFIX, encodeFrame, isWorkspaceChannel } from '../../src/lib/protocol/index.ts';
import type { Bus, BusHandler } from '../bus/types.ts';
import type { AttributedStore } from '../audit/attributed-store.ts';
import type { Logger } from '../log.ts';
import { Room } from './room.ts';
import { UpdatePipeline } from './pipeline.ts';
import { receiveFromBus } from './messages.ts';
import { StoredNotices, publish } from './steps/publish.ts';
import { Unconfirmed } from './unconfirmed.ts';
import type { CarriedUpdate, StoredNotice } from './bus-codec.ts';
import { RowSchedule, remakeRow, type RowPorts } from './steps/project.ts';
import { UpdateWriter } from './update-writer.ts';
import { recordNotice } from './record-notice.ts';
import { DEFAULT_SYNC_LIMITS, type SyncLimits } from './limits.ts';
import type { FieldLookup } from '../../src/lib/model/validate.ts';

export interface RoomsOptions {
	store: AttributedStore;
	bus: Bus;
	log: Logger;
	idleUnloadMs: number;
	commitDelayMs: number;
	compactAfter: number;
	/** Whether changes are attributed and written to the audit log (ACCORD_AUDIT). */
	audit: boolean;
	/** Workspaces whose presence channels may be opened. */
	isWorkspace(id: string): boolean;
	/** Bounds on presence per connection and document. */
	limits?: SyncLimits;
	/** A workspace's current field definitions (server/fields.ts), which the live path validates against. */
	definitions?(workspace: string): FieldLookup | undefined;
	/** How long an update from another instance, and its silent origin, wait before this one stores it (ACCORD_TAKE_OVER_MS). */
	takeOverAfterMs?: number;
}

interface RoomState {
	busHandler: BusHandler;
	updatesSinceSnapshot: number;
	lastSeq: number;
	compacting: boolean;
	/** Step 7's pace for this record's list row. */
	rows: RowSchedule;
	unloadTimer: ReturnType<typeof setTimeout> | null;
	/** The first update received from each origin instance since subscribing: a `stored` notice for one before it was missed. */
	firstReceived: Map<string, number>;
	/** The document is being read again from the database (`again`: once more when done). */
	rereading: { again: boolean } | null;
}

export class Rooms {
	readonly writer: UpdateWriter;
	/** Others' updates held until stored (none with one instance). */
	readonly unconfirmed: Unconfirmed;
	private readonly pipeline: UpdatePipeline;
	private readonly notices: StoredNotices;
	/** This instance's id among those sharing the bus (none with the in-process bus, which reaches no other process). */
	private readonly origin: string | undefined;
	/** Origins whose updates this instance took over, said once each in the log. */
	private readonly tookOverFrom = new Set<string>();
	/** What re-making a record's list row (step 7) needs of this instance. */
	private readonly rowPorts: RowPorts;
	private readonly rooms = new Map<string, Room>();
	private readonly loading = new Map<string, Promise<Room | null>>();
	private readonly state = new WeakMap<Room, RoomState>();
	private closed = false;

	constructor(private readonly options: RoomsOptions) {
		this.writer = new UpdateWriter(options.store, options.commitDelayMs, options.log, options.limits?.maxPendingWrites ?? DEFAULT_SYNC_LIMITS.maxPendingWrites);
		const { store, log } = options;
		this.rowPorts = {
			flushed: (documentId) => this.writer.flushed(documentId),
			upsertProjection: (row) => store.upsertProjection(row),
			announce: (workspace, recordId, visibility) => this.announceRecordChanged(workspace, recordId, visibility),
			log
		};
		this.notices = new StoredNotices(options.bus);
		this.origin = options.bus.kind === 'memory' ? undefined : randomUUID();
		this.unconfirmed = new Unconfirmed({ afterMs: options.takeOverAfterMs, takeOver: (documentId, carried) => this.takeOver(documentId, carried) });
		// The life of one update (pipeline.ts): its steps, with what each needs of this instance.
		this.pipeline = new UpdatePipeline({
			writer: {
				enqueue: (...update) => this.writer.enqueue(...update),
				// Step 9's `saved` waits for the updates of others this instance holds too (Unconfirmed.settled says why).
				flushed: (documentId) => this.storedWithHeld(documentId)
			},
			bus: options.bus,
			// The in-process bus reaches no other process: nobody could store an update in this one's place.
			carry: this.origin === undefined ? undefined : { origin: this.origin, notices: this.notices },
			bindings: {
				bind: (documentId, clients, person) => store.bindClients(documentId, clients, person),
				lookup: (documentId, clients) => store.lookupBindings(documentId, clients),
				deferred: (documentId, clients, error) =>
					log.warn('binding client ids is deferred to the next stored update', { room: documentId, clients, error: error.message }),
				lookupFailed: (documentId, error) => log.debug('looking up client bindings failed', { room: documentId, error: error.message })
			},
			log,
			audited: options.audit,
			project: (room) => this.state.get(room)?.rows.schedule(),
			stored: (room, seq) => this.afterStored(room, seq),
			definitions: (workspace) => options.definitions?.(workspace)
		});
		options.bus.onResume(() => this.resynchronise());
	}

	/** Records and channels loaded; not the field definitions, which stay loaded for as long as the server runs. */
	get loadedCount(): number {
		let count = 0;
		for (const room of this.rooms.values()) if (!room.definitionsDocument) count++;
		return count;
	}

	loaded(name: string): Room | undefined {
		return this.rooms.get(name);
	}

	/**
	 * The room of a record or workspace channel, loading it if needed and holding it
	 * loaded until `release`. Null when there is no such record or workspace.
	 */
	async acquire(name: string): Promise<Room | null> {
		if (this.closed) return null;
		// Rooms are keyed by the canonical spelling only; another spelling is no room (callers canonicalise).
		if (!isWorkspaceChannel(name) && canonicalRecordId(name) !== name) return null;
		const room = this.rooms.get(name) ?? (await this.load(name));
		if (!room) return null;
		room.holds++;
		this.cancelUnload(room);
		return room;
	}

	release(room: Room): void {
		room.holds = Math.max(0, room.holds - 1);
		if (room.idle) this.scheduleUnload(room);
	}

	private load(name: string): Promise<Room | null> {
		let loading = this.loading.get(name);
		if (!loading) {
			loading = this.loadUncached(name).finally(() => this.loading.delete(name));
			this.loading.set(name, loading);
		}
		return loading;
	}

	private async loadUncached(name: string): Promise<Room | null> {
		const { store, bus } = this.options;
		if (isWorkspaceChannel(name)) {
			const workspace = name.slice(WORKSPACE_CHANNEL_PREFIX.length);
			if (!this.options.isWorkspace(workspace)) return null;
			const room = new Room(name, workspace, false, this.pipeline, this.publishPresence, this.options.limits);
			await this.attach(room, { lastSeq: 0, updatesSinceSnapshot: 0 }, []);
			return room;
		}
		if (canonicalRecordId(name) !== name) return null;
		// Subscribe before loading, buffering what arrives, so no update falls in the gap.
		const early: Uint8Array[] = [];
		const buffer: BusHandler = (message) => early.push(message);
		await bus.subscribe(`doc:${name}`, buffer);
		try {
			const stored = await store.loadDocument(name);
			if (!stored) return null;
			const room = new Room(name, stored.workspace, true, this.pipeline, this.publishPresence, this.options.limits);
			room.load(stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates);
			for (const [client, person] of await store.loadBindings(name)) room.bindings.set(client, person);
			await this.attach(room, { lastSeq: stored.lastSeq, updatesSinceSnapshot: stored.updates.length }, early);
			return room;
		} finally {
			await bus.unsubscribe(`doc:${name}`, buffer);
		}
	}

	private async attach(room: Room, counts: { lastSeq: number; updatesSinceSnapshot: number }, early: Uint8Array[]): Promise<void> {
		const busHandler: BusHandler = (message) => {
			try {
				const receipt = receiveFromBus(room, message);
				if (!receipt) return;
				if ('carried' in receipt) this.received(room, receipt.carried);
				else if ('stored' in receipt) this.confirmed(room, receipt.stored);
				// Another instance erased a record: this one drops it too, writing nothing back.
				else if (receipt.notice.erased) void this.discard(receipt.notice.recordId);
				// Another instance changed who may see a record: this one's peers on it follow.
				else if (receipt.notice.visibility) this.rooms.get(receipt.notice.recordId)?.enforceVisibility(receipt.notice.visibility);
			} catch (error) {
				this.options.log.warn('dropped a malformed bus message', { room: room.name, error: (error as Error).message });
			}
		};
		this.state.set(room, {
			busHandler,
			...counts,
			compacting: false,
			rows: new RowSchedule(() => remakeRow(room, this.rowPorts)),
			unloadTimer: null,
			firstReceived: new Map(),
			rereading: null
		});
		await this.options.bus.subscribe(`doc:${room.name}`, busHandler);
		for (const message of early) busHandler(message);
		this.rooms.set(room.name, room);
	}

	/** Resolves once what this instance holds of the document is stored: its own updates, and the others' it received unconfirmed. */
	private storedWithHeld(documentId: string): Promise<void> {
		const held = this.unconfirmed.settled(documentId);
		return held ? held.then(() => this.writer.flushed(documentId)) : this.writer.flushed(documentId);
	}

	/** Another instance's update, applied: held until it is stored. */
	private received(room: Room, carried: CarriedUpdate): void {
		const state = this.state.get(room);
		if (state && !state.firstReceived.has(carried.origin)) state.firstReceived.set(carried.origin, carried.id);
		this.unconfirmed.hold(room.name, carried);
	}

	/**
	 * Another instance's updates are stored. One this instance never received since it
	 * subscribed was published before: the load may have missed it (stored after it read
	 * the database), so the document is read again.
	 */
	private confirmed(room: Room, stored: StoredNotice): void {
		// This instance's own updates, stored by another one that took them over: nothing was missed.
		if (stored.origin === this.origin) return;
		this.unconfirmed.confirm(stored.origin, stored.ids, stored.byTaker);
		const state = this.state.get(room);
		if (!state) return;
		const first = state.firstReceived.get(stored.origin);
		if (first === undefined || stored.ids.some((id) => id < first)) void this.reread(room, state);
	}

	private async reread(room: Room, state: RoomState): Promise<void> {
		if (state.rereading) {
			state.rereading.again = true;
			return;
		}
		const rereading = (state.rereading = { again: false });
		try {
			do {
				rereading.again = false;
				const stored = await this.options.store.loadDocument(room.name);
				if (!stored || room.destroyed) return;
				const parts = stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates;
				// As from the bus: what this instance lacked reaches its peers; nothing is stored again.
				if (parts.length > 0) Y.applyUpdate(room.doc, parts.length === 1 ? parts[0] : Y.mergeUpdates(parts), 'bus');
			} while (rereading.again);
		} catch (error) {
			this.options.log.warn('reading a document again failed', { room: room.name, error: (error as Error).message });
		} finally {
			state.rereading = null;
		}
	}

	/** Stores another instance's update that it did not confirm, nor say anything, in time; with the entries and bindings it carried; says so to the others. */
	private takeOver(documentId: string, carried: CarriedUpdate): void {
		// When stopping, everything held is stored (Rooms.close says so once); otherwise the origin fell silent.
		if (!this.closed && !this.tookOverFrom.has(carried.origin)) {
			this.tookOverFrom.add(carried.origin);
			this.options.log.warn('storing updates another instance published but did not confirm in time', { origin: carried.origin, room: documentId });
		}
		const key = { origin: carried.origin, id: carried.id, takenOver: true };
		this.writer.enqueue(documentId, carried.update, carried.drafts, carried.bindings, key).then(
			(seq) => {
				if (seq === 0) return; // the document is gone
				this.notices.stored(documentId, carried.origin, carried.id, true);
				const room = this.rooms.get(documentId);
				if (!room || seq < 0) return;
				// Stored here: counted towards compaction, and its list row made again (the origin's will not be).
				this.afterStored(room, seq);
				this.state.get(room)?.rows.schedule();
			},
			(error: Error) => this.options.log.warn('an update another instance did not confirm could not be stored here', { room: documentId, error: error.message })
		);
	}

	/** Publishes a room's presence to the other instances (not an update: those go through the pipeline's step 8). */
	private readonly publishPresence = (room: Room, message: Uint8Array): void => publish(this.options.bus, room.name, message);

	private afterStored(room: Room, seq: number): void {
		const state = this.state.get(room);
		if (!state) return;
		state.lastSeq = Math.max(state.lastSeq, seq);
		state.updatesSinceSnapshot++;
		if (state.updatesSinceSnapshot >= this.options.compactAfter) void this.compact(room);
	}

	private async compact(room: Room): Promise<void> {
		const state = this.state.get(room);
		if (!state || state.compacting || state.updatesSinceSnapshot === 0) return;
		state.compacting = true;
		const upTo = state.lastSeq;
		const counted = state.updatesSinceSnapshot;
		try {
			// The snapshot may hold more than `upTo` (updates still in flight); that is
			// harmless, since applying an update twice changes nothing.
			await this.options.store.compact(room.name, Y.encodeStateAsUpdate(room.doc), upTo);
			state.updatesSinceSnapshot = Math.max(0, state.updatesSinceSnapshot - counted);
		} catch (error) {
			this.options.log.warn('compaction failed; the log stays as it is', { room: room.name, error: (error as Error).message });
		} finally {
			state.compacting = false;
		}
	}

	/**
	 * Tells every tab of the workspace that may see the record, on every instance, that its
	 * row changed (see record-notice.ts). Without `visibility` it is read from the record's
	 * row first: a notice never goes out to people it is not known to be for.
	 */
	announceRecordChanged(workspace: string, recordId: string, visibility?: RecordVisibility): void {
		if (!visibility) {
			void this.options.store.getProjection(recordId).then(
				(row) => row && this.announceRecordChanged(workspace, recordId, { private: row.private === true, owner: row.owner }),
				(error: Error) => this.options.log.warn('a record change was not announced: its visibility could not be read', { record: recordId, error: error.message })
			);
			return;
		}
		const channel = `${WORKSPACE_CHANNEL_PREFIX}${workspace}`;
		const { notice, bus } = recordNotice(recordId, visibility);
		this.rooms.get(channel)?.broadcast(notice.frame, undefined, notice.audience);
		this.options.bus.publish(`doc:${channel}`, bus);
	}

	/**
	 * A record erased for good (server/erase.ts), after its rows are gone: every peer is
	 * told it does not exist, and the room is dropped without storing, projecting or
	 * compacting anything (updates still queued find no document and are dropped by the
	 * writer). A load under way finds no document. Then every tab of the workspace that
	 * could see it, on every instance, is told its row changed: syncing it, they are told
	 * it does not exist and drop their local copies; other instances drop their rooms.
	 */
	async discard(name: string, announce?: { workspace: string; visibility: RecordVisibility }): Promise<void> {
		await this.loading.get(name)?.catch(() => null);
		const room = this.rooms.get(name);
		if (room && room.persistent) {
			const state = this.state.get(room);
			this.rooms.delete(name);
			this.state.delete(room);
			if (state) {
				state.rows.stop();
				if (state.unloadTimer) clearTimeout(state.unloadTimer);
				await this.options.bus.unsubscribe(`doc:${name}`, state.busHandler);
			}
			for (const peer of [...room.peers.keys()]) peer.evict(name);
			room.destroy();
		}
		if (announce) {
			const channel = `${WORKSPACE_CHANNEL_PREFIX}${announce.workspace}`;
			const { notice, bus } = recordNotice(name, announce.visibility, true);
			this.rooms.get(channel)?.broadcast(notice.frame, undefined, notice.audience);
			this.options.bus.publish(`doc:${channel}`, bus);
		}
	}

	private scheduleUnload(room: Room): void {
		const state = this.state.get(room);
		if (!state || state.unloadTimer) return;
		state.unloadTimer = setTimeout(() => {
			state.unloadTimer = null;
			void this.unload(room);
		}, this.options.idleUnloadMs);
	}

	private cancelUnload(room: Room): void {
		const state = this.state.get(room);
		if (state?.unloadTimer) {
			clearTimeout(state.unloadTimer);
			state.unloadTimer = null;
		}
	}

	/** Stores what is pending, then drops the room, unless someone joined meanwhile. */
	private async unload(room: Room): Promise<void> {
		const state = this.state.get(room);
		if (!state || !room.idle) return;
		await this.settle(room);
		if (!room.idle || this.rooms.get(room.name) !== room) return;
		if (room.persistent && state.updatesSinceSnapshot > 0) await this.compact(room);
		if (!room.idle) return;
		this.rooms.delete(room.name);
		await this.options.bus.unsubscribe(`doc:${room.name}`, state.busHandler);
		room.destroy();
	}

	/**
	 * Waits until what `room` holds is stored and its list row written: an answer that says a
	 * record changed (archived by an undo) is then true of the list as well.
	 */
	async projected(room: Room): Promise<void> {
		await this.settle(room);
	}

	private async settle(room: Room): Promise<void> {
		const state = this.state.get(room);
		if (!state) return;
		state.rows.beginPending();
		await this.writer.flushed(room.name);
		await state.rows.done;
	}

	/** After the bus came back: other instances may have missed our changes; send each open document's state (once stored). */
	private resynchronise(): void {
		for (const room of this.rooms.values()) {
			if (!room.persistent) continue;
			void this.writer.flushed(room.name).then(() => {
				const message = encodeFrame(null, MessageType.sync, (e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(room.doc)));
				this.options.bus.publish(`doc:${room.name}`, message);
			});
		}
	}

	/** Stores everything pending and unloads every room. */
	async close(): Promise<void> {
		this.closed = true;
		await Promise.allSettled([...this.loading.values()]);
		// Others' updates not confirmed yet: nobody here would store them later.
		if (this.unconfirmed.size > 0) this.options.log.info('storing updates of other instances not confirmed yet, before stopping', { updates: this.unconfirmed.size });
		this.unconfirmed.drain();
		await Promise.allSettled([...this.rooms.values()].map((room) => this.settle(room)));
		await this.writer.close();
		for (const room of this.rooms.values()) {
			const state = this.state.get(room);
			if (state?.unloadTimer) clearTimeout(state.unloadTimer);
			if (state) await this.options.bus.unsubscribe(`doc:${room.name}`, state.busHandler);
			room.destroy();
		}
		this.rooms.clear();
	}
}
