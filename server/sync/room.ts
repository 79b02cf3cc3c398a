/**
 * A room is one loaded document and the connections syncing it: its Y.Doc, its
 * awareness, the path of an update from a connection to the store, the bus and the
 * other connections. Workspace channels are rooms too, carrying awareness only.
 *
 * Attribution: every Yjs client id that writes new items is bound to a person, in the
 * database before those items are applied (so the binding outlives a crash; when the
 * database does not answer in time, the binding is kept in memory and stored with the
 * update instead, so edits keep flowing during an outage). An update whose new items
 * use a client id bound to someone else is refused if it is a live update (forged); in
 * a sync step 2 (a client catching the server up with edits it holds) such items are
 * kept but attributed to the sender, since the server cannot tell a relay from a
 * forgery. Each applied transaction is turned into field-level audit entries that
 * travel with its update to the store.
 */
import { randomInt } from 'node:crypto';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MessageType, encodeFrame, encodeSaved } from '../../src/lib/protocol/index.ts';
import type { AuditPerson, AuditSource } from '../../src/lib/model/audit.ts';
import { canSeeRecord, type RecordVisibility, type Role } from '../../src/lib/access.ts';
import { transactionChanges } from '../audit/changes.ts';
import type { AuditDraft, ChangeDraft, PersonRef } from '../audit/types.ts';
import { binaryFrame, type WireFrame } from './outbox.ts';
import { PresenceBatch } from './presence-batch.ts';
import { readRecordNotice, type RecordNotice } from './record-notice.ts';
import { screenPresence } from './presence-guard.ts';
import { ShapeGuard } from './shape-guard.ts';
import { DefinitionsGuard } from '../fields-guard.ts';
import type { RepairingGuard } from './repairing-guard.ts';
import { describeProblem, distinctProblems, type ShapeProblem } from '../../src/lib/model/shape-problems.ts';
import { fieldsDocumentId } from '../../src/lib/model/fields.ts';
import { viewsDocumentId } from '../../src/lib/views/views.ts';
import type { FieldLookup } from '../../src/lib/model/validate.ts';
import { DEFAULT_SYNC_LIMITS, type SyncLimits } from './limits.ts';

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

/** The origin of a change the server makes itself (API, restore), on behalf of `actor`. */
export class ServerWrite {
	constructor(
		readonly actor: AuditPerson,
		readonly source: AuditSource
	) {}
}

const sameValue = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/** An update that carries no structs and no deletions: what a client with nothing new sends. */
const EMPTY_UPDATE_LENGTH = 2;

/** Where a change came from, for transactions that are neither a connection's nor a ServerWrite. */
export type SystemOrigin = 'load' | 'bus';

/** Thrown when client ids could not be bound (the database is unreachable): the update is not applied. */
export class BindingUnavailableError extends Error {
	override readonly name = 'BindingUnavailableError';
}

/** A client id's binding not yet known to be in the database: stored with the next update. */
export interface PendingBinding {
	client: number;
	person: AuditPerson;
}

/** How long binding client ids may hold up an update before it is applied with the binding in memory. */
const BIND_TIMEOUT_MS = 500;

export interface RoomHooks {
	/**
	 * A change from a connection or the API: store it, with the audit entries describing
	 * it and the bindings not stored yet, then publish `message` to the other instances
	 * (only once stored, so no other instance ever holds a change that may be lost).
	 */
	persist(room: Room, update: Uint8Array, audit: readonly AuditDraft[], bindings: readonly PendingBinding[], message: Uint8Array): void;
	/** Binds client ids (those not bound yet) to `person` in the database; resolves with every one's binding. */
	bind(room: Room, clients: readonly number[], person: AuditPerson): Promise<Map<number, AuditPerson>>;
	/** Binding client ids in the database failed or took too long: they are bound in memory for now. */
	bindingDeferred(room: Room, clients: readonly number[], error: Error): void;
	/** Client ids that wrote items this instance did not see written (from the bus): look up their bindings. */
	learn(room: Room, clients: readonly number[]): void;
	/** Computing a transaction's audit entries failed (a bug): it is recorded as an unspecified edit. */
	auditFailed(room: Room, error: Error): void;
	/** Resolves once every change persisted so far is stored. */
	stored(room: Room): Promise<void>;
	/** Publish a y-websocket message to the other instances. */
	publish(room: Room, message: Uint8Array): void;
	/** The document changed (from anywhere): its projection may need refreshing. */
	changed(room: Room, local: boolean): void;
	/** The workspace's current field definitions, which a record's values are checked against (built-ins only when absent). */
	definitions?(room: Room): FieldLookup | undefined;
}

interface Membership {
	/** Awareness client ids this peer controls, removed when it leaves. */
	clientIds: Set<number>;
	/** Sync messages carrying content received from this peer; acknowledged with `saved`. */
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
	readonly doc = new Y.Doc({ gc: true });
	readonly awareness: awarenessProtocol.Awareness;
	readonly peers = new Map<Peer, Membership>();
	/** Who each Yjs client id of this document belongs to (a cache of `client_bindings`). */
	readonly bindings = new Map<number, AuditPerson>();
	private readonly namePrefix: Uint8Array;
	/**
	 * The audit entries of the transaction being cleaned up, from its `afterTransaction`
	 * to its `update`, which Yjs emits right after it (a WeakMap per transaction cost more).
	 */
	private audit: { tr: Y.Transaction; drafts: ChangeDraft[] } | null = null;
	/** While a catch-up is applied: client ids of others whose new items it carries, attributed to its sender. */
	private claimedBySender: { clients: ReadonlySet<number>; person: AuditPerson } | null = null;
	/** Bindings made while the database did not answer: stored with the next update, then dropped from here. */
	private readonly unstoredBindings = new Map<number, AuditPerson>();
	/** The client id the server writes with for each person (bound to them), and the clock it left it at. */
	private readonly serverClients = new Map<string, { client: number; clock: number }>();
	/** Client ids whose presence changed (not just renewed) in the awareness event being handled. */
	private readonly presenceChanged = new Set<number>();
	private readonly presence = new PresenceBatch((batch) => this.relayPresence(batch));
	private destroyed = false;
	/** Repairs what a connection's update would break in a record's shape (records only, not workspace channels), or in the field definitions. */
	private readonly guard: RepairingGuard | null;
	/** The workspace's field definitions document: everyone in the workspace reads it, only admins write. */
	readonly definitionsDocument: boolean;
	/** The workspace's shared views document: everyone reads it; it changes through the views API only (server/views.ts). */
	readonly viewsDocument: boolean;
	/** Holds by the API (not connections) that keep the room loaded. */
	holds = 0;

	constructor(
		readonly name: string,
		readonly workspace: string,
		readonly persistent: boolean,
		private readonly hooks: RoomHooks,
		/** Off (ACCORD_AUDIT=0): no entries are computed and client ids are not bound, so nothing is attributed either. */
		private readonly audited = true,
		private readonly limits: SyncLimits = DEFAULT_SYNC_LIMITS
	) {
		const prefix = encoding.createEncoder();
		encoding.writeVarString(prefix, name);
		this.namePrefix = encoding.toUint8Array(prefix);
		this.definitionsDocument = persistent && name === fieldsDocumentId(workspace);
		this.viewsDocument = persistent && name === viewsDocumentId(workspace);
		this.guard = !persistent ? null : this.definitionsDocument ? new DefinitionsGuard(this.doc) : new ShapeGuard(this.doc, () => hooks.definitions?.(this));
		this.awareness = new awarenessProtocol.Awareness(this.doc);
		this.awareness.setLocalState(null);
		this.doc.on('afterTransaction', this.onAfterTransaction);
		this.doc.on('update', this.onUpdate);
		this.awareness.on('change', this.onAwarenessChange);
		this.awareness.on('update', this.onAwarenessUpdate);
	}

	/** Applies stored state; not persisted again, not broadcast (nobody is connected yet). */
	load(updates: readonly Uint8Array[]): void {
		if (updates.length === 0) return;
		Y.applyUpdate(this.doc, updates.length === 1 ? updates[0] : Y.mergeUpdates(updates as Uint8Array[]), 'load');
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

	get idle(): boolean {
		return this.peers.size === 0 && this.holds === 0;
	}

	/**
	 * Handles one y-websocket message from a peer; the decoder is positioned after the
	 * type. Returns a promise when the message waits for client ids to be bound first;
	 * the caller must not hand this room the peer's next message before it settles.
	 */
	receive(peer: Peer, type: number, decoder: decoding.Decoder): void | Promise<void> {
		const membership = this.peers.get(peer);
		if (!membership) throw new Error('peer has not joined this room');
		switch (type) {
			case MessageType.sync: {
				if (!this.persistent) return;
				// Dispatched here rather than by syncProtocol.readSyncMessage, which logs and
				// swallows a malformed update: ours must reach the connection and close it.
				const syncType = decoding.readVarUint(decoder);
				if (syncType === syncProtocol.messageYjsSyncStep1) {
					const stateVector = decoding.readVarUint8Array(decoder);
					const reply = encodeFrame(null, MessageType.sync, (e) => syncProtocol.writeSyncStep2(e, this.doc, stateVector));
					peer.send(this.frame(peer, reply));
				} else if (syncType === syncProtocol.messageYjsSyncStep2 || syncType === syncProtocol.messageYjsUpdate) {
					const update = decoding.readVarUint8Array(decoder);
					if (!peer.canWrite) {
						// An empty catch-up changes nothing: acknowledge it, so the viewer's client has nothing pending.
						if (update.byteLength > EMPTY_UPDATE_LENGTH) peer.refuseWrite(this, 'You can view this record but not change it: your role is viewer.');
						else this.acknowledge(peer, membership);
						return;
					}
					if (this.viewsDocument) {
						if (update.byteLength > EMPTY_UPDATE_LENGTH) peer.refuseWrite(this, 'Saved views are changed through the views API (the list\'s view picker), which checks who may change each one.');
						else this.acknowledge(peer, membership);
						return;
					}
					if (this.definitionsDocument && peer.actor.role !== 'admin') {
						if (update.byteLength > EMPTY_UPDATE_LENGTH) peer.refuseWrite(this, `Only admins can change the workspace's fields; your role is ${peer.actor.role}.`);
						else this.acknowledge(peer, membership);
						return;
					}
					// Without the audit log nothing is attributed: no client ids to bind or check.
					if (!this.audited) return this.applyFrom(peer, membership, syncType, update, []);
					const claimed = this.newClients(update);
					const unbound = claimed.filter((client) => !this.bindings.has(client));
					if (unbound.length === 0) return this.applyFrom(peer, membership, syncType, update, claimed);
					return this.bind(unbound, { id: peer.actor.id, name: peer.actor.name }).then(() => {
						if (!this.destroyed) this.applyFrom(peer, membership, syncType, update, claimed);
					});
				} else {
					throw new Error(`unknown sync message type ${syncType}`);
				}
				return;
			}
			case MessageType.awareness: {
				const states = this.awareness.getStates();
				const screened = screenPresence(
					decoding.readVarUint8Array(decoder),
					peer,
					{ stateOf: (client) => states.get(client), held: membership.clientIds, documentStates: states.size },
					this.limits
				);
				if (screened.update) awarenessProtocol.applyAwarenessUpdate(this.awareness, screened.update, peer);
				return;
			}
			case MessageType.queryAwareness:
				this.answerPresenceQuery(peer, membership);
				return;
			default:
				throw new Error(`message type ${type} is not accepted here`);
		}
	}

	/**
	 * Binds client ids to `person` (those nobody has yet) in the database. If the database
	 * fails or does not answer within BIND_TIMEOUT_MS, they are bound in memory and the
	 * binding is stored in the transaction of the next update instead.
	 */
	private async bind(clients: readonly number[], person: AuditPerson): Promise<void> {
		let timer: ReturnType<typeof setTimeout> | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer within ${BIND_TIMEOUT_MS} ms`)), BIND_TIMEOUT_MS);
		});
		try {
			const bound = await Promise.race([this.hooks.bind(this, clients, person), timeout]);
			for (const [client, owner] of bound) this.bindings.set(client, owner);
		} catch (error) {
			this.hooks.bindingDeferred(this, clients, error as Error);
			for (const client of clients) {
				if (this.bindings.has(client)) continue;
				this.bindings.set(client, person);
				this.unstoredBindings.set(client, person);
			}
		} finally {
			clearTimeout(timer);
		}
	}

	/** Bindings that were stored with an update: no longer carried along. */
	bindingsStored(stored: readonly PendingBinding[]): void {
		for (const { client, person } of stored) if (this.unstoredBindings.get(client) === person) this.unstoredBindings.delete(client);
	}

	/** Client ids under which the update brings items this document does not have yet. */
	private newClients(update: Uint8Array): number[] {
		const { to } = Y.parseUpdateMeta(update);
		const clients: number[] = [];
		for (const [client, clock] of to) if (clock > Y.getState(this.doc.store, client)) clients.push(client);
		return clients;
	}

	private applyFrom(peer: Peer, membership: Membership, syncType: number, update: Uint8Array, claimed: readonly number[]): void {
		const foreign = claimed.filter((client) => this.bindings.get(client)?.id !== peer.actor.id);
		if (foreign.length > 0 && syncType === syncProtocol.messageYjsUpdate) {
			// Live updates carry the sender's own new edits.
			peer.refuseWrite(
				this,
				`Refused: this change uses Yjs client id ${foreign[0]}, which belongs to someone else. Every editor must write with their own client id.`,
				'forged-client-id'
			);
			return;
		}
		// A catch-up (step 2) may carry items under another person's client id that this
		// server has never seen: another person's edit that a crash kept from being stored,
		// or a forgery, and the server cannot tell which. They are kept (an edit is not
		// lost) and attributed to the sender, who brought them, never to the id's owner.
		this.claimedBySender = foreign.length > 0 ? { clients: new Set(foreign), person: { id: peer.actor.id, name: peer.actor.name } } : null;
		let repairs: ShapeProblem[];
		try {
			repairs = this.guard ? this.guard.apply(update, peer) : (Y.applyUpdate(this.doc, update, peer), []);
		} finally {
			this.claimedBySender = null;
		}
		if (repairs.length > 0) {
			// What was kept is stored and acknowledged like any change; the writer learns what was not, and why.
			// The sentence is for stock clients; the problems let a browser word it in its person's language.
			const problems = distinctProblems(repairs);
			peer.refuseWrite(this, `Part of this change was not kept: ${problems.map(describeProblem).join(' ')}`, 'not-kept', problems);
		}
		this.acknowledge(peer, membership);
	}

	/**
	 * Applies a change the server makes itself (API, restore) on behalf of `by.actor`,
	 * through the same path as a peer's. It is written under a client id of this room
	 * bound to that person (never the document's own client id, which is no one's), so
	 * its items stay attributed to them, here and wherever they are relayed.
	 */
	async transact(by: { actor: AuditPerson; source: AuditSource }, change: (doc: Y.Doc) => void): Promise<void> {
		const client = await this.serverClientFor(by.actor);
		const own = this.doc.clientID;
		this.doc.clientID = client;
		try {
			this.doc.transact(() => change(this.doc), new ServerWrite(by.actor, by.source));
		} finally {
			this.doc.clientID = own;
			this.serverClients.set(by.actor.id, { client, clock: Y.getState(this.doc.store, client) });
		}
	}

	private async serverClientFor(person: AuditPerson): Promise<number> {
		const known = this.serverClients.get(person.id);
		// Reused only while nobody else has written under it since (clocks must not collide).
		if (known && Y.getState(this.doc.store, known.client) === known.clock && this.bindings.get(known.client)?.id === person.id) return known.client;
		for (let attempt = 0; attempt < 5; attempt++) {
			const client = randomInt(1, 2 ** 32);
			if (client === this.doc.clientID || this.doc.store.clients.has(client) || this.bindings.has(client)) continue;
			await this.bind([client], person);
			if (this.bindings.get(client)?.id === person.id && !this.doc.store.clients.has(client)) {
				this.serverClients.set(person.id, { client, clock: 0 });
				return client;
			}
		}
		throw new BindingUnavailableError('could not find a free client id to write with');
	}

	/** A y-websocket message from another instance; for a record notice on a workspace channel, the notice. */
	receiveFromBus(message: Uint8Array): RecordNotice | undefined {
		const decoder = decoding.createDecoder(message);
		const type = decoding.readVarUint(decoder);
		if (type === MessageType.sync && this.persistent) {
			// Only updates travel on the bus; the origin instance stores them.
			if (decoding.readVarUint(decoder) === syncProtocol.messageYjsUpdate) {
				Y.applyUpdate(this.doc, decoding.readVarUint8Array(decoder), 'bus' satisfies SystemOrigin);
			}
		} else if (type === MessageType.awareness) {
			awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), 'bus');
		} else if (type === MessageType.recordChanged && !this.persistent) {
			// Only to those who may see the record (see record-notice.ts); clients get the plain id.
			const notice = readRecordNotice(decoder);
			this.broadcast(notice.frame, undefined, notice.audience);
			return notice;
		}
		return undefined;
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
		this.destroyed = true;
		this.presence.stop();
		this.doc.off('afterTransaction', this.onAfterTransaction);
		this.doc.off('update', this.onUpdate);
		this.awareness.off('change', this.onAwarenessChange);
		this.awareness.off('update', this.onAwarenessUpdate);
		this.awareness.destroy();
		this.doc.destroy();
		this.peers.clear();
	}

	private acknowledge(peer: Peer, membership: Membership): void {
		const count = ++membership.received;
		if (!peer.multiplexed) return;
		void this.hooks.stored(this).then(() => {
			if (this.peers.has(peer)) peer.send(encodeSaved(this.name, count));
		});
	}

	/** Who sent a transaction and how, for its audit entries; null for loading and the bus. */
	private senderOf(origin: unknown): { actor: AuditPerson; source: AuditSource } | null {
		if (origin instanceof ServerWrite) return { actor: origin.actor, source: origin.source };
		if (origin !== null && typeof origin === 'object' && this.peers.has(origin as Peer)) {
			const peer = origin as Peer;
			return { actor: { id: peer.actor.id, name: peer.actor.name }, source: peer.source };
		}
		return null;
	}

	/** Runs before Yjs garbage-collects what the transaction deleted: the old values are still readable. */
	private readonly onAfterTransaction = (tr: Y.Transaction): void => {
		if (!this.persistent || !this.audited) return;
		const sender = this.senderOf(tr.origin);
		if (!sender) {
			if (tr.origin === 'bus') {
				const unknown: number[] = [];
				for (const [client, clock] of tr.afterState) {
					if (clock > (tr.beforeState.get(client) ?? 0) && !this.bindings.has(client)) unknown.push(client);
				}
				if (unknown.length > 0) this.hooks.learn(this, unknown);
			}
			return;
		}
		const at = new Date().toISOString();
		let drafts: ChangeDraft[];
		try {
			drafts = transactionChanges(tr, { actor: sender.actor, source: sender.source, at, authorOf: this.authorOf });
			// A value put back by the guard is no change: no entry says "a → a".
			if (this.guard?.wasRepaired(tr)) drafts = drafts.filter((draft) => draft.op !== 'set' || !sameValue(draft.before, draft.after));
		} catch (error) {
			this.hooks.auditFailed(this, error as Error);
			// Never an update without an entry: say at least who changed the record.
			drafts = [{ at, actor: sender.actor, source: sender.source, relayedBy: null, path: 'record', op: 'edit', before: null, after: null, conflict: null }];
		}
		this.audit = { tr, drafts };
	};

	private readonly authorOf = (client: number): PersonRef =>
		(this.claimedBySender?.clients.has(client) ? this.claimedBySender.person : undefined) ?? this.bindings.get(client) ?? { client };

	private readonly onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction): void => {
		if (origin === 'load') return;
		const message = encodeFrame(null, MessageType.sync, (e) => syncProtocol.writeUpdate(e, update));
		// A repaired update goes back to its sender too: it holds what was not kept, and must converge.
		this.broadcast(message, this.guard?.wasRepaired(tr) ? undefined : origin);
		const local = origin !== 'bus';
		if (local) {
			const drafts = this.audit?.tr === tr ? this.audit.drafts : [];
			this.audit = null;
			const bindings = this.unstoredBindings.size === 0 ? [] : [...this.unstoredBindings].map(([client, person]) => ({ client, person }));
			this.hooks.persist(this, update, this.auditDrafts(drafts), bindings, message);
		}
		this.hooks.changed(this, local);
	};

	/** Emitted just before `update` for the same call, with the ids whose state really changed. */
	private readonly onAwarenessChange = ({ added, updated, removed }: AwarenessChanges): void => {
		for (const id of added) this.presenceChanged.add(id);
		for (const id of updated) this.presenceChanged.add(id);
		for (const id of removed) this.presenceChanged.add(id);
	};

	private auditDrafts(drafts: readonly ChangeDraft[]): AuditDraft[] {
		const { workspace, name } = this;
		return drafts.map(
			(draft): AuditDraft => ({
				at: draft.at,
				actor: draft.actor,
				source: draft.source,
				relayedBy: draft.relayedBy,
				path: draft.path,
				op: draft.op,
				before: draft.before,
				after: draft.after,
				conflict: draft.conflict,
				workspace,
				recordId: name
			})
		);
	}

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
		if (!origins.has('bus')) return this.hooks.publish(this, message);
		const local = [...batch].flatMap(([client, origin]) => (origin === 'bus' ? [] : [client]));
		if (local.length > 0) this.hooks.publish(this, this.awarenessMessage(local));
	}

	private awarenessMessage(clients: number[]): Uint8Array {
		return encodeFrame(null, MessageType.awareness, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients)));
	}

	/**
	 * A query for everyone's presence costs the whole set, so it is answered at most once
	 * per interval per peer: one asked again sooner gets one answer at the interval's end,
	 * however often it asked in between.
	 */
	private answerPresenceQuery(peer: Peer, membership: Membership): void {
		if (membership.queryTimer) return;
		const wait = membership.lastQueryAnswer + this.limits.awarenessQueryIntervalMs - Date.now();
		const answer = () => {
			membership.queryTimer = null;
			membership.lastQueryAnswer = Date.now();
			if (this.peers.get(peer) === membership && !this.destroyed) this.sendAwarenessStates(peer);
		};
		if (wait <= 0) return answer();
		membership.queryTimer = setTimeout(answer, wait);
	}

	private sendAwarenessStates(peer: Peer): void {
		const states = this.awareness.getStates();
		if (states.size === 0) return;
		peer.send(this.frame(peer, this.awarenessMessage([...states.keys()])));
	}

	private frame(peer: Peer, message: Uint8Array): Uint8Array {
		return peer.multiplexed ? this.prefixed(message) : message;
	}

	private prefixed(message: Uint8Array): Uint8Array {
		const out = new Uint8Array(this.namePrefix.byteLength + message.byteLength);
		out.set(this.namePrefix, 0);
		out.set(message, this.namePrefix.byteLength);
		return out;
	}
}
