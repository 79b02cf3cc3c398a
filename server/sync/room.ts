/**
 * A room is one loaded document and the connections syncing it: its Y.Doc, its
 * awareness (presence, relayed in batches), its peers, and sending to them. Workspace
 * channels are rooms too, carrying awareness only.
 *
 * What happens to an update is not decided here: messages are decoded by messages.ts,
 * and an update's life (authorise, attribute, check and apply, audit, broadcast,
 * persist, project, publish, acknowledge) is the ordered list of steps in pipeline.ts,
 * which the document's events hand every transaction to. A room keeps the per-document
 * state those steps need (`attribution`, `guard`, `entries`) without acting on it.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import type * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MessageType, encodeFrame } from '../../src/lib/protocol/index.ts';
import type { AuditPerson, AuditSource } from '../../src/lib/model/audit.ts';
import { canSeeRecord, type RecordVisibility, type Role } from '../../src/lib/access.ts';
import { binaryFrame, type WireFrame } from './outbox.ts';
import { PresenceBatch } from './presence-batch.ts';
import { screenPresence } from './presence-guard.ts';
import type { RepairingGuard } from './repairing-guard.ts';
import type { ShapeProblem } from '../../src/lib/model/shape-problems.ts';
import { fieldsDocumentId } from '../../src/lib/model/fields.ts';
import { viewsDocumentId } from '../../src/lib/views/views.ts';
import { DEFAULT_SYNC_LIMITS, type SyncLimits } from './limits.ts';
import type { UpdatePipeline } from './pipeline.ts';
import { receiveMessage } from './messages.ts';
import type { Attribution } from './steps/attribute.ts';
import { HeldEntries, ServerWrite } from './steps/audit-entries.ts';
import { newDoc } from '../../src/lib/model/record.ts';

export { BindingUnavailableError, type PendingBinding } from './steps/attribute.ts';
export { ServerWrite } from './steps/audit-entries.ts';

/** One connection's membership in rooms; implemented by the socket handlers. */
export interface Peer {
	readonly id: number;
	/** Who is behind the connection: presence is stamped with it, so nobody can appear as someone else. */
	readonly actor: { readonly id: string; readonly name: string; readonly role: Role };
	/** Viewers may read and be present, not write. */
	readonly canWrite: boolean;
	/** Multiplexed peers get frames prefixed with the document name. */
	readonly multiplexed: boolean;
	/** How this peer's own changes are recorded in the audit log (`ui`, `api`). */
	readonly source: AuditSource;
	send(bytes: Uint8Array): void;
	/** Sends a message framed once for many peers (see outbox.ts). */
	sendFrame(frame: WireFrame): void;
	/** Tells the peer its change to this room was not applied, and why (`code`: `read-only`, `forged-client-id`). */
	refuseWrite(room: Room, reason: string, code?: string, problems?: readonly ShapeProblem[]): void;
	/** The person may no longer see this document: drop it, as if it did not exist. */
	evict(documentName: string): void;
}

/** Where a change came from, for transactions that are neither a connection's nor a ServerWrite. */
export type SystemOrigin = 'load' | 'bus';

/** A peer's part in a room. */
export interface Membership {
	/** Awareness client ids this peer controls, removed when it leaves. */
	clientIds: Set<number>;
	/** Sync messages carrying content received from this peer; acknowledged with `saved` (steps/acknowledge.ts). */
	received: number;
	/** When this peer's last query for everyone's presence was answered, and the answer waiting for the next interval. */
	lastQueryAnswer: number;
	queryTimer: ReturnType<typeof setTimeout> | null;
}

interface AwarenessChanges {
	added: number[];
	updated: number[];
	removed: number[];
}

export class Room {
	readonly doc = newDoc();
	readonly awareness: awarenessProtocol.Awareness;
	readonly peers = new Map<Peer, Membership>();
	/** The workspace's field definitions document: everyone in the workspace reads it, only admins write. */
	readonly definitionsDocument: boolean;
	/** The workspace's shared views document: everyone reads it; it changes through the views API only (server/views.ts). */
	readonly viewsDocument: boolean;
	/** Step 2's state (pipeline.ts): who each Yjs client id of this document belongs to, and the bindings not stored yet. */
	readonly attribution: Attribution;
	/** Step 3's guard: repairs what an update would break in a record's shape or the field definitions (none on workspace channels). */
	readonly guard: RepairingGuard | null;
	/** Step 4's entries of the transaction being cleaned up, from its end to its update event. */
	readonly entries = new HeldEntries();
	/** Holds by the API (not connections) that keep the room loaded. */
	holds = 0;
	private readonly namePrefix: Uint8Array;
	/** Client ids whose presence changed (not just renewed) in the awareness event being handled. */
	private readonly presenceChanged = new Set<number>();
	private readonly presence = new PresenceBatch((batch) => this.relayPresence(batch));
	private isDestroyed = false;

	constructor(
		readonly name: string,
		readonly workspace: string,
		readonly persistent: boolean,
		private readonly pipeline: UpdatePipeline,
		/** Publishes presence to the other instances. */
		private readonly publishPresence: (room: Room, message: Uint8Array) => void,
		private readonly limits: SyncLimits = DEFAULT_SYNC_LIMITS
	) {
		const prefix = encoding.createEncoder();
		encoding.writeVarString(prefix, name);
		this.namePrefix = encoding.toUint8Array(prefix);
		this.definitionsDocument = persistent && name === fieldsDocumentId(workspace);
		this.viewsDocument = persistent && name === viewsDocumentId(workspace);
		this.attribution = pipeline.attributionOf(this);
		this.guard = pipeline.guardOf(this);
		this.awareness = new awarenessProtocol.Awareness(this.doc);
		this.awareness.setLocalState(null);
		this.doc.on('afterTransaction', this.onAfterTransaction);
		this.doc.on('update', this.onUpdate);
		this.awareness.on('change', this.onAwarenessChange);
		this.awareness.on('update', this.onAwarenessUpdate);
	}

	/** Who each Yjs client id of this document belongs to (a cache of `client_bindings`). */
	get bindings(): Map<number, AuditPerson> {
		return this.attribution.bindings;
	}

	get destroyed(): boolean {
		return this.isDestroyed;
	}

	/** Applies stored state; not persisted again, not broadcast (nobody is connected yet). */
	load(updates: readonly Uint8Array[]): void {
		if (updates.length === 0) return;
		Y.applyUpdate(this.doc, updates.length === 1 ? updates[0] : Y.mergeUpdates(updates as Uint8Array[]), 'load' satisfies SystemOrigin);
	}

	join(peer: Peer): void {
		if (this.peers.has(peer)) return;
		this.peers.set(peer, { clientIds: new Set(), received: 0, lastQueryAnswer: 0, queryTimer: null });
		if (this.persistent) {
			peer.send(this.frame(peer, encodeFrame(null, MessageType.sync, (e) => syncProtocol.writeSyncStep1(e, this.doc))));
		}
		this.sendAwarenessStates(peer);
	}

	leave(peer: Peer): void {
		const membership = this.peers.get(peer);
		if (!membership) return;
		this.peers.delete(peer);
		if (membership.queryTimer) clearTimeout(membership.queryTimer);
		if (membership.clientIds.size > 0) {
			awarenessProtocol.removeAwarenessStates(this.awareness, [...membership.clientIds], peer);
		}
	}

	/** Whether `peer` is on this document (one that left is not answered any more). */
	has(peer: Peer): boolean {
		return this.peers.has(peer);
	}

	get idle(): boolean {
		return this.peers.size === 0 && this.holds === 0;
	}

	/**
	 * Handles one y-websocket message from a peer (messages.ts); the decoder is positioned
	 * after the type. Returns a promise when the message waits for client ids to be bound
	 * first; the caller must not hand this room the peer's next message before it settles.
	 */
	receive(peer: Peer, type: number, decoder: decoding.Decoder): void | Promise<void> {
		const membership = this.peers.get(peer);
		if (!membership) throw new Error('peer has not joined this room');
		return receiveMessage(this.pipeline, this, peer, membership, type, decoder);
	}

	/** A presence update from a peer, screened (presence-guard.ts) before it is applied. */
	receivePresence(peer: Peer, membership: Membership, update: Uint8Array): void {
		const states = this.awareness.getStates();
		const screened = screenPresence(update, peer, { stateOf: (client) => states.get(client), held: membership.clientIds, documentStates: states.size }, this.limits);
		if (screened.update) awarenessProtocol.applyAwarenessUpdate(this.awareness, screened.update, peer);
	}

	/**
	 * Applies a change the server makes itself (API, restore) on behalf of `by.actor`,
	 * through the same steps as a peer's from step 4 on (pipeline.ts). It is written under
	 * a client id of this room bound to that person (steps/attribute.ts), never the
	 * document's own client id, which is no one's.
	 */
	async transact(by: { actor: AuditPerson; source: AuditSource }, change: (doc: Y.Doc) => void): Promise<void> {
		const client = await this.attribution.serverClientFor(by.actor);
		const own = this.doc.clientID;
		this.doc.clientID = client;
		try {
			this.doc.transact(() => change(this.doc), new ServerWrite(by.actor, by.source));
		} finally {
			this.doc.clientID = own;
			this.attribution.wroteAs(by.actor, client);
		}
	}

	/**
	 * The record's visibility as its row now says: a peer who may no longer see it (a
	 * private record given to someone else by editing its owner) is evicted at once, as
	 * when it is made private, so nobody keeps reading or writing what is hidden from them.
	 */
	enforceVisibility(visibility: RecordVisibility): void {
		if (!visibility.private) return;
		for (const peer of [...this.peers.keys()]) if (!canSeeRecord(peer.actor, visibility)) peer.evict(this.name);
	}

	/** Sends a message to every peer but one (and, given `only`, to those it accepts), framing it once per kind of peer. */
	broadcast(message: Uint8Array, except?: unknown, only?: (peer: Peer) => boolean): void {
		let plain: WireFrame | null = null;
		let multiplexed: WireFrame | null = null;
		for (const peer of this.peers.keys()) {
			if (peer === except || (only && !only(peer))) continue;
			if (peer.multiplexed) peer.sendFrame((multiplexed ??= binaryFrame(this.prefixed(message))));
			else peer.sendFrame((plain ??= binaryFrame(message)));
		}
	}

	destroy(): void {
		this.isDestroyed = true;
		this.presence.stop();
		this.doc.off('afterTransaction', this.onAfterTransaction);
		this.doc.off('update', this.onUpdate);
		this.awareness.off('change', this.onAwarenessChange);
		this.awareness.off('update', this.onAwarenessUpdate);
		this.awareness.destroy();
		this.doc.destroy();
		this.peers.clear();
	}

	/** Runs before Yjs garbage-collects what the transaction deleted: the old values are still readable. */
	private readonly onAfterTransaction = (tr: Y.Transaction): void => this.pipeline.transactionEnded(this, tr);

	private readonly onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction): void => this.pipeline.updated(this, update, origin, tr);

	/** Emitted just before `update` for the same call, with the ids whose state really changed. */
	private readonly onAwarenessChange = ({ added, updated, removed }: AwarenessChanges): void => {
		for (const id of added) this.presenceChanged.add(id);
		for (const id of updated) this.presenceChanged.add(id);
		for (const id of removed) this.presenceChanged.add(id);
	};

	private readonly onAwarenessUpdate = ({ added, updated, removed }: AwarenessChanges, origin: unknown): void => {
		const membership = origin && typeof origin === 'object' ? this.peers.get(origin as Peer) : undefined;
		if (membership) {
			for (const id of added) membership.clientIds.add(id);
			for (const id of removed) membership.clientIds.delete(id);
		}
		const changed: number[] = [];
		const renewed: number[] = [];
		for (const ids of [added, updated, removed]) for (const id of ids) (this.presenceChanged.has(id) ? changed : renewed).push(id);
		this.presenceChanged.clear();
		if (changed.length > 0) this.presence.changed(changed, origin);
		if (renewed.length > 0) this.presence.renewed(renewed, origin);
	};

	/**
	 * One awareness message with every state in the batch, to every peer except the one
	 * that sent all of it (a peer sent its own states back ignores them: same clock); the
	 * states that did not come from the bus are published to the other instances.
	 */
	private relayPresence(batch: ReadonlyMap<number, unknown>): void {
		const origins = new Set(batch.values());
		const message = this.awarenessMessage([...batch.keys()]);
		this.broadcast(message, origins.size === 1 ? [...origins][0] : undefined);
		if (!origins.has('bus')) return this.publishPresence(this, message);
		const local = [...batch].flatMap(([client, origin]) => (origin === 'bus' ? [] : [client]));
		if (local.length > 0) this.publishPresence(this, this.awarenessMessage(local));
	}

	private awarenessMessage(clients: number[]): Uint8Array {
		return encodeFrame(null, MessageType.awareness, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients)));
	}

	/**
	 * A query for everyone's presence costs the whole set, so it is answered at most once
	 * per interval per peer: one asked again sooner gets one answer at the interval's end,
	 * however often it asked in between.
	 */
	answerPresenceQuery(peer: Peer, membership: Membership): void {
		if (membership.queryTimer) return;
		const wait = membership.lastQueryAnswer + this.limits.awarenessQueryIntervalMs - Date.now();
		const answer = () => {
			membership.queryTimer = null;
			membership.lastQueryAnswer = Date.now();
			if (this.peers.get(peer) === membership && !this.isDestroyed) this.sendAwarenessStates(peer);
		};
		if (wait <= 0) return answer();
		membership.queryTimer = setTimeout(answer, wait);
	}

	private sendAwarenessStates(peer: Peer): void {
		const states = this.awareness.getStates();
		if (states.size === 0) return;
		peer.send(this.frame(peer, this.awarenessMessage([...states.keys()])));
	}

	/** A message as `peer` reads it: prefixed with the document's name on a multiplexed socket. */
	frame(peer: Peer, message: Uint8Array): Uint8Array {
		return peer.multiplexed ? this.prefixed(message) : message;
	}

	private prefixed(message: Uint8Array): Uint8Array {
		const out = new Uint8Array(this.namePrefix.byteLength + message.byteLength);
		out.set(this.namePrefix, 0);
		out.set(message, this.namePrefix.byteLength);
		return out;
	}
}
