/**
 * The audit's part of a data-subject erasure, run in the erasure's own transaction
 * (server/store/erase-store.ts calls it as `also`), so an erasure is whole or not at all:
 *   - audit_log: the entries about the records keep who, when, where and what kind of
 *     change, but their values become a tombstone (before, after: `{"$erased": true}`; a
 *     conflict's pair of values and people: null) and their salt is dropped; the chain
 *     still verifies through each entry's values hash (migration 12);
 *   - audit_pending (entries not sealed yet): the same tombstone, sealed later as it is;
 *   - the erasure's own entry (op `erase`, no values), staged.
 */
import type { Erasure } from '../store/erase-store.ts';
import type { SqlTx } from '../store/types.ts';
import { ERASED_VALUE } from './hash.ts';
import { stageAudit } from './staging.ts';

const TOMBSTONE = JSON.stringify(ERASED_VALUE);
/** A value that said something becomes the tombstone; a null said nothing and stays null. */
const erasedValue = (column: string) => `CASE WHEN ${column} IS NULL THEN NULL ELSE $2::jsonb END`;

export async function auditErasure(tx: SqlTx, { workspace, erased, at, by, source }: Erasure): Promise<void> {
	await tx.query(
		`UPDATE audit_log SET before = ${erasedValue('before')}, after = ${erasedValue('after')}, conflict = NULL,
		        values_salt = NULL, erased_at = $3::timestamptz
		  WHERE record_id = ANY($1::uuid[]) AND erased_at IS NULL`,
		[[...erased], TOMBSTONE, at]
	);
	await tx.query(
		`UPDATE audit_pending SET before = ${erasedValue('before')}, after = ${erasedValue('after')}, conflict = NULL,
		        coalesce_key = NULL
		  WHERE record_id = ANY($1::uuid[])`,
		[[...erased], TOMBSTONE]
	);
	await stageAudit(
		tx,
		erased.map((recordId) => ({ workspace, recordId, at, actor: by, source, relayedBy: null, path: 'record', op: 'erase' as const, before: null, after: null, conflict: null }))
	);
}
