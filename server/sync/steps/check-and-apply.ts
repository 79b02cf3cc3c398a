/**
 * Step 3 of an update's life (see ../pipeline.ts): check its shape and apply it. The two
 * are one step because a guard repairs inside the transaction that applies the update
 * (./repairing-guard.ts): nobody ever observes the broken state, and what is audited,
 * stored and relayed is the repaired update. Validation of live updates plugs in here,
 * as a guard: a record's shape guard, the field definitions' guard; workspace channels
 * carry presence only and have none.
 */
import * as Y from 'yjs';
import { describeProblem, distinctProblems, type ShapeProblem } from '../../../src/lib/model/shape-problems.ts';
import type { FieldLookup } from '../../../src/lib/model/validate.ts';
import { DefinitionsGuard } from '../../fields-guard.ts';
import type { RepairingGuard } from '../repairing-guard.ts';
import { ShapeGuard } from '../shape-guard.ts';

/** The guard of a document: none for a workspace channel, the definitions' guard for the field definitions, else a record's shape guard. */
export function guardFor(doc: Y.Doc, kind: { persistent: boolean; definitionsDocument: boolean }, definitions: () => FieldLookup | undefined): RepairingGuard | null {
	if (!kind.persistent) return null;
	return kind.definitionsDocument ? new DefinitionsGuard(doc) : new ShapeGuard(doc, definitions);
}

const NOTHING_REPAIRED: ShapeProblem[] = [];

/** Applies `update` with origin `origin` through the guard, if any; returns what was not kept (empty: all of it was). */
export function applyChecked(doc: Y.Doc, guard: RepairingGuard | null, update: Uint8Array, origin: unknown): ShapeProblem[] {
	if (guard) return guard.apply(update, origin);
	Y.applyUpdate(doc, update, origin);
	return NOTHING_REPAIRED;
}

/**
 * What the writer is told when part of an update was not kept (code `not-kept`): what was
 * kept is stored and acknowledged like any change. The sentence is for stock clients; the
 * problems let a browser word it in its person's language.
 */
export function notKept(repairs: readonly ShapeProblem[]): { reason: string; problems: ShapeProblem[] } {
	const problems = distinctProblems(repairs);
	return { reason: `Part of this change was not kept: ${problems.map(describeProblem).join(' ')}`, problems };
}
