/**
 * A room is one loaded document and the connections syncing it: its Y.Doc, its
 * awareness, the path of an update from a connection to the store, the bus and the
 * other connections. Workspace channels are rooms too, carrying awareness only.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MessageType, encodeFrame, encodeSaved } from '../../src/lib/sync/protocol.ts';

/** One connection's membership in rooms; implemented by the socket handlers. */
export interface Peer {
	readonly id: number;
	/** Who is behind the connection: presence is stamped with it, so nobody can appear as someone else. */
	readonly actor: { readonly id: string; readonly name: string };
	/** Viewers may read and be present, not write. */
	readonly canWrite: boolean;
	/** Multiplexed peers get frames prefixed with the document name. */
	readonly multiplexed: boolean;
	send(bytes: Uint8Array): void;
	/** Tells the peer its change to this room was not applied, and why. */
	refuseWrite(room: Room, reason: string): void;
}

/** A presence state as the server relays it: the `user` is who the connection signed in as. */
function stampUser(state: unknown, peer: Peer): unknown {
	if (state === null || typeof state !== 'object') return state;
	const { user } = state as { user?: unknown };
	const shown = user !== null && typeof user === 'object' ? user : {};
	return { ...state, user: { ...shown, id: peer.actor.id, name: peer.actor.name } };
}

/** An update that carries no structs and no deletions: what a client with nothing new sends. */
const EMPTY_UPDATE_LENGTH = 2;

/** Where a change came from, for transactions that are not a connection's. */
export type SystemOrigin = 'load' | 'bus' | 'api';

export interface RoomHooks {
	/** A change from a connection or the API: store it. */
	persist(room: Room, update: Uint8Array): void;
	/** Resolves once every change persisted so far is stored. */
	stored(room: Room): Promise<void>;
	/** Publish a y-websocket message to the other instances. */
	publish(room: Room, message: Uint8Array): void;
	/** The document changed (from anywhere): its projection may need refreshing. */
	changed(room: Room, local: boolean): void;
}

interface Membership {
	/** Awareness client ids this peer controls, removed when it leaves. */
	clientIds: Set<number>;
	/** Sync messages carrying content received from this peer; acknowledged with `saved`. */
	received: number;
}

export class Room {
	readonly doc = new Y.Doc({ gc: true });
	readonly awareness: awarenessProtocol.Awareness;
	readonly peers = new Map<Peer, Membership>();
	private readonly namePrefix: Uint8Array;
	/** Holds by the API (not connections) that keep the room loaded. */
	holds = 0;

	constructor(
		readonly name: string,
		readonly workspace: string,
		readonly persistent: boolean,
		private readonly hooks: RoomHooks
	) {
		const prefix = encoding.createEncoder();
		encoding.writeVarString(prefix, name);
		this.namePrefix = encoding.toUint8Array(prefix);
		this.awareness = new awarenessProtocol.Awareness(this.doc);
		this.awareness.setLocalState(null);
		this.doc.on('update', this.onUpdate);
		this.awareness.on('update', this.onAwarenessUpdate);
	}

	/** Applies stored state; not persisted again, not broadcast (nobody is connected yet). */
	load(updates: readonly Uint8Array[]): void {
		if (updates.length === 0) return;
		Y.applyUpdate(this.doc, updates.length === 1 ? updates[0] : Y.mergeUpdates(updates as Uint8Array[]), 'load');
	}

	join(peer: Peer): void {
		if (this.peers.has(peer)) return;
		this.peers.set(peer, { clientIds: new Set(), received: 0 });
		if (this.persistent) {
			peer.send(this.frame(peer, encodeFrame(null, MessageType.sync, (e) => syncProtocol.writeSyncStep1(e, this.doc))));
		}
		this.sendAwarenessStates(peer);
	}

	leave(peer: Peer): void {
		const membership = this.peers.get(peer);
		if (!membership) return;
		this.peers.delete(peer);
		if (membership.clientIds.size > 0) {
			awarenessProtocol.removeAwarenessStates(this.awareness, [...membership.clientIds], peer);
		}
	}

	get idle(): boolean {
		return this.peers.size === 0 && this.holds === 0;
	}

	/** Handles one y-websocket message from a peer; the decoder is positioned after the type. */
	receive(peer: Peer, type: number, decoder: decoding.Decoder): void {
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
						if (update.byteLength > EMPTY_UPDATE_LENGTH) peer.refuseWrite(this, 'You can view this record but not change it: your role is viewer.');
						return;
					}
					Y.applyUpdate(this.doc, update, peer);
					this.acknowledge(peer, membership);
				} else {
					throw new Error(`unknown sync message type ${syncType}`);
				}
				return;
			}
			case MessageType.awareness: {
				const update = awarenessProtocol.modifyAwarenessUpdate(decoding.readVarUint8Array(decoder), (state) => stampUser(state, peer));
				awarenessProtocol.applyAwarenessUpdate(this.awareness, update, peer);
				return;
			}
			case MessageType.queryAwareness:
				this.sendAwarenessStates(peer);
				return;
			default:
				throw new Error(`message type ${type} is not accepted here`);
		}
	}

	/** Applies a change made by the server itself (the API), through the same path as a peer's. */
	transact(change: (doc: Y.Doc) => void): void {
		this.doc.transact(() => change(this.doc), 'api' satisfies SystemOrigin);
	}

	/** A y-websocket message from another instance. */
	receiveFromBus(message: Uint8Array): void {
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
			this.broadcast(message);
		}
	}

	/** Sends a message to every peer but one, framing it once per kind of peer. */
	broadcast(message: Uint8Array, except?: unknown): void {
		let framed: Uint8Array | null = null;
		for (const peer of this.peers.keys()) {
			if (peer === except) continue;
			if (peer.multiplexed) peer.send((framed ??= this.prefixed(message)));
			else peer.send(message);
		}
	}

	destroy(): void {
		this.doc.off('update', this.onUpdate);
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

	private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
		if (origin === 'load') return;
		const message = encodeFrame(null, MessageType.sync, (e) => syncProtocol.writeUpdate(e, update));
		this.broadcast(message, origin);
		const local = origin !== 'bus';
		if (local) {
			this.hooks.publish(this, message);
			this.hooks.persist(this, update);
		}
		this.hooks.changed(this, local);
	};

	private readonly onAwarenessUpdate = (
		{ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
		origin: unknown
	): void => {
		const membership = origin && typeof origin === 'object' ? this.peers.get(origin as Peer) : undefined;
		if (membership) {
			for (const id of added) membership.clientIds.add(id);
			for (const id of removed) membership.clientIds.delete(id);
		}
		const changed = [...added, ...updated, ...removed];
		const message = encodeFrame(null, MessageType.awareness, (e) =>
			encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed))
		);
		this.broadcast(message, origin);
		if (origin !== 'bus') this.hooks.publish(this, message);
	};

	private sendAwarenessStates(peer: Peer): void {
		const states = this.awareness.getStates();
		if (states.size === 0) return;
		const message = encodeFrame(null, MessageType.awareness, (e) =>
			encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...states.keys()]))
		);
		peer.send(this.frame(peer, message));
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
