/**
 * Step 4 of an update's life (see ../pipeline.ts): the field-level audit entries of the
 * transaction that applied it. Computed when the transaction ends (Yjs's
 * `afterTransaction`), before Yjs garbage-collects what it deleted, so old values are
 * still readable; held until the update event of the same transaction, which Yjs emits
 * right after, where they travel with the update into the store (step 6).
 */
import type * as Y from 'yjs';
import type { AuditPerson, AuditSource } from '../../../src/lib/model/audit.ts';
import { transactionChanges } from '../../audit/changes.ts';
import type { AuditDraft, ChangeDraft, PersonRef } from '../../audit/types.ts';
import type { RepairingGuard } from '../repairing-guard.ts';

/** The origin of a change the server makes itself (API, restore), on behalf of `actor`. */
export class ServerWrite {
	constructor(
		readonly actor: AuditPerson,
		readonly source: AuditSource
	) {}
}

/** Who sent a transaction and how. */
export interface Sender {
	actor: AuditPerson;
	source: AuditSource;
}

/** What a connection says of itself that its entries record. */
interface Connected {
	readonly actor: { readonly id: string; readonly name: string };
	readonly source: AuditSource;
}

/** Who sent a transaction, for its entries: a server write, or a connection of the document; null for loading and the bus. */
export function senderOf(origin: unknown, connections: ReadonlyMap<Connected, unknown>): Sender | null {
	if (origin instanceof ServerWrite) return { actor: origin.actor, source: origin.source };
	if (origin !== null && typeof origin === 'object' && connections.has(origin as Connected)) {
		const connection = origin as Connected;
		return { actor: { id: connection.actor.id, name: connection.actor.name }, source: connection.source };
	}
	return null;
}

const sameValue = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/**
 * The entries of a transaction by `sender` on document `documentId`. A value the guard put
 * back is no change (no entry says "a → a"). If computing them fails (a bug), `failed`
 * hears of it and the transaction is recorded as an unspecified edit: never an update
 * without an entry. (`failed` takes the document rather than closing over it: no function
 * is made per update.)
 */
export function entriesOf(
	tr: Y.Transaction,
	sender: Sender,
	authorOf: (client: number) => PersonRef,
	guard: RepairingGuard | null,
	documentId: string,
	failed: (documentId: string, error: Error) => void
): ChangeDraft[] {
	const at = new Date().toISOString();
	try {
		const drafts = transactionChanges(tr, { actor: sender.actor, source: sender.source, at, authorOf });
		return guard?.wasRepaired(tr) ? drafts.filter((draft) => draft.op !== 'set' || !sameValue(draft.before, draft.after)) : drafts;
	} catch (error) {
		failed(documentId, error as Error);
		return [{ at, actor: sender.actor, source: sender.source, relayedBy: null, path: 'record', op: 'edit', before: null, after: null, conflict: null }];
	}
}

const NO_ENTRIES: ChangeDraft[] = [];

/** The entries of one document's transaction, from its end to its update event (a WeakMap per transaction cost more). */
export class HeldEntries {
	private tr: Y.Transaction | null = null;
	private drafts: ChangeDraft[] = NO_ENTRIES;

	hold(tr: Y.Transaction, drafts: ChangeDraft[]): void {
		this.tr = tr;
		this.drafts = drafts;
	}

	/** The entries held for `tr` (none if it had none), letting go of them. */
	take(tr: Y.Transaction): ChangeDraft[] {
		const drafts = this.tr === tr ? this.drafts : NO_ENTRIES;
		this.tr = null;
		this.drafts = NO_ENTRIES;
		return drafts;
	}
}

/** The entries as the store takes them: with their workspace and record. */
export function auditDrafts(drafts: readonly ChangeDraft[], workspace: string, recordId: string): AuditDraft[] {
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
			recordId
		})
	);
}
