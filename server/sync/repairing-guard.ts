/**
 * What every guard of a live document does the same way (a record's shape guard, the
 * field definitions' guard): apply a connection's update in one transaction and repair
 * it before the transaction ends, so nobody ever observes the broken state and what is
 * stored and relayed is the repaired update. A guard says only how to judge and repair
 * one transaction; the problems it reports are data (src/lib/model/shape-problems.ts),
 * which the room words for the writer in their language.
 */
import * as Y from 'yjs';
import type { ShapeProblem } from '../../src/lib/model/shape-problems.ts';

/** A repair's outcome: what was not kept, and whether the transaction carries the guard's own writes. */
export interface Repaired {
	problems: ShapeProblem[];
	/** The guard wrote into the transaction (a repair, or a valid value put in its normal form). */
	rewrote: boolean;
}

export abstract class RepairingGuard {
	private repaired: Y.Transaction | null = null;

	constructor(protected readonly doc: Y.Doc) {}

	/**
	 * Called before an update is applied; returns the repair of its transaction (so a
	 * guard may judge the change against the state before it).
	 */
	protected abstract begin(): (tr: Y.Transaction) => Repaired;

	/** Applies `update` in one transaction with origin `origin`, repairing it before it ends; returns what was not kept. */
	apply(update: Uint8Array, origin: unknown): ShapeProblem[] {
		let problems: ShapeProblem[] = [];
		const repair = this.begin();
		Y.transact(
			this.doc,
			(tr) => {
				Y.applyUpdate(this.doc, update, origin);
				const outcome = repair(tr);
				problems = outcome.problems;
				if (!outcome.rewrote) return;
				this.repaired = tr;
				// Applying marked the transaction remote; the repairs in it are written under
				// this document's own client id, which Yjs would then take for another
				// client's and replace. (A valid value rewritten into its normal form is such
				// a write too: its sender must get it back.)
				tr.local = true;
			},
			origin,
			false
		);
		this.repaired = null;
		return problems;
	}

	/** The transaction being applied had to be repaired (asked while it is cleaned up: audit, broadcast). */
	wasRepaired(tr: Y.Transaction): boolean {
		return this.repaired === tr;
	}
}
