/**
 * The life of one update from a connection, in order. Each step is a module of `steps/`
 * with one job; this file is the one place that says which runs when, so a change to the
 * live path starts here: find its step, change that module.
 *
 *   1. authorise        steps/authorise.ts        may this connection change this document? (role, views, field definitions)
 *   2. attribute        steps/attribute.ts        bind the client ids of its new items to the sender; refuse a live update under someone else's
 *   3. check and apply  steps/check-and-apply.ts  apply it in one transaction with the document's guard, which repairs its shape
 *   4. audit entries    steps/audit-entries.ts    the transaction's field-level entries, while deleted values are still readable
 *   5. broadcast        steps/broadcast.ts        the (repaired) update to this instance's other connections
 *   6. persist          update-writer.ts          into the group commit, with its entries and the bindings not stored yet
 *   7. project          steps/project.ts          the record's list row is made again once stored, at most about once a second
 *   8. publish          steps/publish.ts          to the other instances, on the bus: before the commit, carrying what storing it
 *                                                 elsewhere needs; then that it is stored (one instance: the update, once stored)
 *   9. acknowledge      steps/acknowledge.ts      once stored: `saved` to the sender
 *
 * Steps 1-3 run when a connection's sync message arrives (`receive`, called by the
 * message dispatch, messages.ts); step 2 may wait for the database (binding), and the
 * connection then holds the document's next messages. Steps 4-7 run inside step 3, from
 * the document's own events (`transactionEnded`, `updated`), which also see the
 * server's own writes (API, restore: `ServerWrite`, from step 4 on) and updates from the
 * bus (broadcast only). Step 9 waits for the writer's commit, and so does step 8's
 * `stored` notice (queued first); with other instances, step 8 itself runs at step 6,
 * just before the update is handed to the writer. Without the audit log (ACCORD_AUDIT=0)
 * steps 2 and 4 do nothing.
 *
 * Hocuspocus's ordered hooks were the model; unlike them, the steps are plain functions
 * called in a fixed order, not a list run by a dispatcher: an update costs no payload
 * object, promise or closure per step (the live path's CPU per update matters).
 */
import type * as Y from 'yjs';
import * as syncProtocol from 'y-protocols/sync';
import type { FieldLookup } from '../../src/lib/model/validate.ts';
import type { Bus } from '../bus/types.ts';
import type { Logger } from '../log.ts';
import type { AuditDraft } from '../audit/types.ts';
import type { RepairingGuard } from './repairing-guard.ts';
import type { UpdateWriter } from './update-writer.ts';
import type { UpdateKey } from '../store/types.ts';
import type { Membership, Peer, Room } from './room.ts';
import { isEmptyUpdate, refusalToWrite } from './steps/authorise.ts';
import { Attribution, forgedRefusal, type BindingPort, type PendingBinding } from './steps/attribute.ts';
import { applyChecked, guardFor, notKept } from './steps/check-and-apply.ts';
import { auditDrafts, entriesOf, senderOf } from './steps/audit-entries.ts';
import { broadcastUpdate, updateMessage } from './steps/broadcast.ts';
import { changesListRow } from './steps/project.ts';
import { publish, publishCarried, type StoredNotices } from './steps/publish.ts';
import { acknowledge } from './steps/acknowledge.ts';

export interface UpdatePipelineOptions {
	/** Step 6, and what steps 8 and 9 wait for. */
	writer: Pick<UpdateWriter, 'enqueue' | 'flushed'>;
	/** Step 8. */
	bus: Pick<Bus, 'publish'>;
	/**
	 * Step 8 before the commit, when other instances may receive (a Redis bus): this
	 * instance's id (a uuid), which with a number per update keys it in the store, and the
	 * `stored` notices. Absent: step 8 publishes the update once stored.
	 */
	carry?: { origin: string; notices: StoredNotices };
	/** Step 2: the binding store (server/audit/bindings.ts) and what to log of it. */
	bindings: BindingPort;
	log: Logger;
	/** Whether changes are attributed and audited (ACCORD_AUDIT): without, steps 2 and 4 do nothing. */
	audited: boolean;
	/** Step 7: schedules the record's list row (rooms.ts). */
	project(room: Room): void;
	/** After step 6 stored an update with sequence number `seq` (rooms.ts counts them towards compaction). */
	stored(room: Room, seq: number): void;
	/** Step 3: a workspace's current field definitions, which a record's values are checked against (built-ins only when absent). */
	definitions?(workspace: string): FieldLookup | undefined;
}

const NO_CLIENTS: readonly number[] = [];

export class UpdatePipeline {
	/** Step 9's wait, made once (not per update). */
	private readonly flushed: (documentId: string) => Promise<void>;
	/** The number of this instance's last update (step 8's carried updates, in the order the writer stores them). */
	private lastId = 0;

	constructor(private readonly options: UpdatePipelineOptions) {
		this.flushed = (documentId) => options.writer.flushed(documentId);
	}

	/** Step 2's state for a document being loaded. */
	attributionOf(room: Room): Attribution {
		return new Attribution(room.name, room.doc, this.options.bindings);
	}

	/** Step 3's guard for a document being loaded (none for a workspace channel). */
	guardOf(room: Room): RepairingGuard | null {
		return guardFor(room.doc, room, () => this.options.definitions?.(room.workspace));
	}

	/**
	 * Steps 1-3 for a sync step 2 or update from `peer`. Returns a promise when client ids
	 * must be bound first; the caller must not hand the room the peer's next message before
	 * it settles.
	 */
	receive(room: Room, peer: Peer, membership: Membership, syncType: number, update: Uint8Array): void | Promise<void> {
		// 1. authorise
		const refusal = refusalToWrite(peer, room);
		if (refusal !== null) {
			// An empty catch-up changes nothing: acknowledged, so the client has nothing pending.
			if (!isEmptyUpdate(update)) peer.refuseWrite(room, refusal);
			else acknowledge(room, peer, membership, this.flushed);
			return;
		}
		// 2. attribute: the ids of its new items bound first (without the audit log, none are)
		if (!this.options.audited) return this.apply(room, peer, membership, syncType, update, NO_CLIENTS);
		const claimed = room.attribution.newClients(update);
		const unbound = room.attribution.unbound(claimed);
		if (unbound.length === 0) return this.apply(room, peer, membership, syncType, update, claimed);
		return room.attribution.bind(unbound, { id: peer.actor.id, name: peer.actor.name }).then(() => {
			if (!room.destroyed) this.apply(room, peer, membership, syncType, update, claimed);
		});
	}

	/** Steps 2 (the forged-id check) and 3, then 9; 4-7 run inside, from the document's events. */
	private apply(room: Room, peer: Peer, membership: Membership, syncType: number, update: Uint8Array, claimed: readonly number[]): void {
		const attribution = room.attribution;
		const foreign = attribution.foreign(claimed, peer.actor.id);
		if (foreign.length > 0) {
			// Live updates carry the sender's own new edits.
			if (syncType === syncProtocol.messageYjsUpdate) return peer.refuseWrite(room, forgedRefusal(foreign[0]), 'forged-client-id');
			// A catch-up (step 2) may carry items under another person's client id that this
			// server has never seen: another person's edit that a crash kept from being stored,
			// or a forgery, and the server cannot tell which. They are kept (an edit is not
			// lost) and attributed to the sender, who brought them, never to the id's owner.
			attribution.claimForSender(foreign, { id: peer.actor.id, name: peer.actor.name });
		}
		// 3. check and apply
		let repairs;
		try {
			repairs = applyChecked(room.doc, room.guard, update, peer);
		} finally {
			attribution.settled();
		}
		if (repairs.length > 0) {
			const { reason, problems } = notKept(repairs);
			peer.refuseWrite(room, reason, 'not-kept', problems);
		}
		// 9. acknowledge, once stored (what was kept is acknowledged like any change)
		acknowledge(room, peer, membership, this.flushed);
	}

	/** Step 4, when a transaction on the document ends (Yjs's `afterTransaction`), before Yjs collects what it deleted. */
	transactionEnded(room: Room, tr: Y.Transaction): void {
		if (!room.persistent || !this.options.audited) return;
		const sender = senderOf(tr.origin, room.peers);
		if (!sender) {
			// From another instance: the ids it wrote under are looked up, for later entries.
			if (tr.origin === 'bus') room.attribution.learnFrom(tr);
			return;
		}
		room.entries.hold(tr, entriesOf(tr, sender, room.attribution.authorOf, room.guard, room.name, this.auditFailed));
	}

	/** Steps 5-7 (and 8 once stored), at the document's update event, which Yjs emits right after the transaction ended. */
	updated(room: Room, update: Uint8Array, origin: unknown, tr: Y.Transaction): void {
		if (origin === 'load') return;
		// 5. broadcast
		const message = updateMessage(update);
		broadcastUpdate(room, message, origin, room.guard?.wasRepaired(tr) ?? false);
		const local = origin !== 'bus';
		// 6. persist, with step 4's entries and the bindings not stored yet (the origin instance stores what the bus carries)
		if (local) this.persist(room, update, auditDrafts(room.entries.take(tr), room.workspace, room.name), room.attribution.unstoredBindings(), message);
		// 7. project
		if (changesListRow(room, local)) this.options.project(room);
	}

	/** Step 8 (before the commit when carried), then 6; once stored, 8's notice (or 8 itself, not carried). */
	private persist(room: Room, update: Uint8Array, entries: readonly AuditDraft[], bindings: readonly PendingBinding[], message: Uint8Array): void {
		const carry = this.options.carry;
		let key: UpdateKey | undefined;
		let carried = false;
		if (carry) {
			key = { origin: carry.origin, id: ++this.lastId, takenOver: false };
			// 8. publish, before the commit: with what another instance needs to store it in this one's place
			carried = publishCarried(this.options.bus, room.name, { origin: key.origin, id: key.id, update, bindings, drafts: entries });
		}
		const notices = carried ? carry?.notices : undefined;
		void this.options.writer.enqueue(room.name, update, entries, bindings, key).then((seq) => {
			if (seq === 0) return; // the document is gone
			room.attribution.stored(bindings);
			// 8. publish: that it is stored, or (not carried) the update itself
			if (notices && key) notices.stored(room.name, key.origin, key.id);
			else publish(this.options.bus, room.name, message);
			// Stored by another instance first (STORED_ELSEWHERE): nothing was appended here.
			if (seq > 0) this.options.stored(room, seq);
		});
	}

	private readonly auditFailed = (documentId: string, error: Error): void =>
		this.options.log.error('computing audit entries failed', { room: documentId, error: error.message, stack: error.stack });
}
