/**
 * Step 2 of an update's life (see ../pipeline.ts): attribution. Every Yjs client id that
 * writes new items is bound to a person, in the database before those items are applied
 * (so the binding outlives a crash; when the database does not answer in time, the
 * binding is kept in memory and stored with the next update instead, so edits keep
 * flowing during an outage). A live update whose new items use a client id bound to
 * someone else is refused (forged); in a sync step 2 (a client catching the server up
 * with edits it holds) such items are kept but attributed to the sender, since the
 * server cannot tell a relay from a forgery.
 *
 * One `Attribution` per loaded document: its bindings (a cache of `client_bindings`), the
 * ones not stored yet, and the client ids the server itself writes with for each person.
 * The audit entries (step 4) name people through `authorOf`.
 */
import { randomInt } from 'node:crypto';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import type { AuditPerson } from '../../../src/lib/model/audit.ts';
import type { PersonRef } from '../../audit/types.ts';

/** How long binding client ids may hold up an update before it is applied with the binding in memory. */
export const BIND_TIMEOUT_MS = 500;

/** Thrown when client ids could not be bound (the database is unreachable): the update is not applied. */
export class BindingUnavailableError extends Error {
	override readonly name = 'BindingUnavailableError';
}

/** A client id's binding not yet known to be in the database: stored with the next update. */
export interface PendingBinding {
	client: number;
	person: AuditPerson;
}

/** What attribution needs of the binding store (server/audit/bindings.ts) and of the log. */
export interface BindingPort {
	/** Binds the ids not bound yet to `person`; resolves with every one's binding (theirs, or someone else's). */
	bind(documentId: string, clients: readonly number[], person: AuditPerson): Promise<Map<number, AuditPerson>>;
	/** The stored bindings of these ids (those that have one). */
	lookup(documentId: string, clients: readonly number[]): Promise<Map<number, AuditPerson>>;
	/** Binding in the database failed or took too long: the ids are bound in memory for now. */
	deferred(documentId: string, clients: readonly number[], error: Error): void;
	/** Looking up the bindings of ids learnt from the bus failed (they stay unattributed here). */
	lookupFailed(documentId: string, error: Error): void;
}

/** The sentence a forged live update is refused with (code `forged-client-id`). */
export function forgedRefusal(client: number): string {
	return `Refused: this change uses Yjs client id ${client}, which belongs to someone else. Every editor must write with their own client id.`;
}

const NONE: readonly number[] = [];

export class Attribution {
	/** Who each Yjs client id of this document belongs to (a cache of `client_bindings`). */
	readonly bindings = new Map<number, AuditPerson>();
	/** Bindings made while the database did not answer: stored with the next update, then dropped from here. */
	private readonly unstored = new Map<number, AuditPerson>();
	/** While a catch-up is applied: client ids of others whose new items it carries, attributed to its sender. */
	private claimedBySender: { clients: ReadonlySet<number>; person: AuditPerson } | null = null;
	/** The client id the server writes with for each person (bound to them), and the clock it left it at. */
	private readonly serverClients = new Map<string, { client: number; clock: number }>();

	constructor(
		private readonly documentId: string,
		private readonly doc: Y.Doc,
		private readonly port: BindingPort,
		private readonly bindTimeoutMs = BIND_TIMEOUT_MS
	) {}

	/** Client ids under which the update brings items this document does not have yet. */
	newClients(update: Uint8Array): number[] {
		// Nearly every live update is one writer's new run of items: said by its first few
		// bytes, without decoding every item as parseUpdateMeta does (a measurable share of
		// the live path's CPU). Anything else is read whole.
		const run = singleWriterRun(update);
		if (run !== null && run.clock >= Y.getState(this.doc.store, run.client)) return [run.client];
		const { to } = Y.parseUpdateMeta(update);
		const clients: number[] = [];
		for (const [client, clock] of to) if (clock > Y.getState(this.doc.store, client)) clients.push(client);
		return clients;
	}

	/** Of these ids, those nobody is bound to yet (none: the update need not wait). */
	unbound(clients: readonly number[]): readonly number[] {
		let unbound: number[] | null = null;
		for (const client of clients) if (!this.bindings.has(client)) (unbound ??= []).push(client);
		return unbound ?? NONE;
	}

	/** Of the ids an update claims, those bound to someone other than `personId`. */
	foreign(claimed: readonly number[], personId: string): readonly number[] {
		let foreign: number[] | null = null;
		for (const client of claimed) if (this.bindings.get(client)?.id !== personId) (foreign ??= []).push(client);
		return foreign ?? NONE;
	}

	/**
	 * Binds client ids to `person` (those nobody has yet) in the database. If the database
	 * fails or does not answer within the timeout, they are bound in memory and the
	 * binding is stored in the transaction of the next update instead.
	 */
	async bind(clients: readonly number[], person: AuditPerson): Promise<void> {
		let timer: ReturnType<typeof setTimeout> | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer within ${this.bindTimeoutMs} ms`)), this.bindTimeoutMs);
		});
		try {
			const bound = await Promise.race([this.port.bind(this.documentId, clients, person), timeout]);
			for (const [client, owner] of bound) this.bindings.set(client, owner);
		} catch (error) {
			this.port.deferred(this.documentId, clients, error as Error);
			for (const client of clients) {
				if (this.bindings.has(client)) continue;
				this.bindings.set(client, person);
				this.unstored.set(client, person);
			}
		} finally {
			clearTimeout(timer);
		}
	}

	/**
	 * For the update about to be applied (a catch-up): items under these ids of others are
	 * attributed to `person`, who brought them, never to the ids' owners. Until `settled`.
	 */
	claimForSender(clients: readonly number[], person: AuditPerson): void {
		this.claimedBySender = { clients: new Set(clients), person };
	}

	/** The update is applied: nothing is claimed for its sender any more. */
	settled(): void {
		this.claimedBySender = null;
	}

	/** Who wrote the items of a client id, for the audit entries of the transaction being applied. */
	readonly authorOf = (client: number): PersonRef =>
		(this.claimedBySender?.clients.has(client) ? this.claimedBySender.person : undefined) ?? this.bindings.get(client) ?? { client };

	/** Bindings not known to be stored yet: they travel with the next update into its transaction. */
	unstoredBindings(): PendingBinding[] {
		if (this.unstored.size === 0) return [];
		return [...this.unstored].map(([client, person]) => ({ client, person }));
	}

	/** Bindings that were stored with an update: no longer carried along. */
	stored(stored: readonly PendingBinding[]): void {
		for (const { client, person } of stored) if (this.unstored.get(client) === person) this.unstored.delete(client);
	}

	/** A transaction from another instance (the bus): the ids it wrote under that are not known here are looked up. */
	learnFrom(tr: Y.Transaction): void {
		let unknown: number[] | null = null;
		for (const [client, clock] of tr.afterState) {
			if (clock > (tr.beforeState.get(client) ?? 0) && !this.bindings.has(client)) (unknown ??= []).push(client);
		}
		if (unknown === null) return;
		void this.port.lookup(this.documentId, unknown).then(
			(found) => {
				for (const [client, person] of found) if (!this.bindings.has(client)) this.bindings.set(client, person);
			},
			(error: Error) => this.port.lookupFailed(this.documentId, error)
		);
	}

	/**
	 * The client id the server writes with on behalf of `person` (API, restore): bound to
	 * them, never the document's own client id (which is no one's), so those items stay
	 * attributed to them, here and wherever they are relayed.
	 */
	async serverClientFor(person: AuditPerson): Promise<number> {
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

	/** The server wrote under `client` for `person`: its clock now, so the id is reused only while nobody else wrote under it. */
	wroteAs(person: AuditPerson, client: number): void {
		this.serverClients.set(person.id, { client, clock: Y.getState(this.doc.store, client) });
	}
}

/**
 * The writer and first clock of a (version 1) update whose items all come from one client
 * (`{ client, clock }`), or null when it has several writers, none, or cannot be read so.
 * The format: the number of clients, then per client the number of its structs, its id and
 * the clock of its first struct (Yjs's writeStructs).
 */
export function singleWriterRun(update: Uint8Array): { client: number; clock: number } | null {
	try {
		const decoder = decoding.createDecoder(update);
		if (decoding.readVarUint(decoder) !== 1) return null;
		if (decoding.readVarUint(decoder) === 0) return null;
		const client = decoding.readVarUint(decoder);
		const clock = decoding.readVarUint(decoder);
		return { client, clock };
	} catch {
		return null;
	}
}
