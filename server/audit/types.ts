/**
 * Audit entries on their way to the store: computed from a transaction on the server,
 * written with the update they describe, coalesced, then sealed into the hash chain.
 */
import type { AuditOp, AuditPerson, AuditSource, AuditValue } from '../../src/lib/model/audit.ts';

/** A person, or a Yjs client id whose binding the store looks up (one this instance has not cached). */
export type PersonRef = AuditPerson | { client: number };

export const isPerson = (ref: PersonRef): ref is AuditPerson => 'id' in ref;

export interface DraftConflict {
	winner: { person: PersonRef; value: AuditValue };
	loser: { person: PersonRef; value: AuditValue };
}

/** One field-level change of one record, as computed from a transaction (values already JSON-safe). */
export interface ChangeDraft {
	at: string;
	actor: PersonRef;
	source: AuditSource;
	relayedBy: PersonRef | null;
	path: string;
	op: AuditOp;
	before: AuditValue;
	after: AuditValue;
	conflict: DraftConflict | null;
}

export interface AuditDraft extends ChangeDraft {
	workspace: string;
	recordId: string | null;
	/** For drafts that already cover several changes. */
	firstAt?: string;
	changes?: number;
}

/** A draft whose people are known: what is staged. */
export interface ResolvedDraft extends AuditDraft {
	actor: AuditPerson;
	relayedBy: AuditPerson | null;
	conflict: { winner: { person: AuditPerson; value: AuditValue }; loser: { person: AuditPerson; value: AuditValue } } | null;
	firstAt: string;
	changes: number;
}
