/**
 * The benchmark's edits must be edits the server keeps: the live path refuses invalid
 * field values (server/sync/shape-guard.ts), and a benchmark whose writes were refused
 * would measure refusals, not edits.
 */
import { describe, expect, it } from 'vitest';
import { BENCH_FIELDS, editStream, fieldValue, rng } from '../../bench/lib/workload.ts';
import { validateField } from '../../src/lib/model/validate.ts';

describe('the benchmark workload', () => {
	it('writes only values the record validator accepts, for every field', () => {
		const random = rng(7);
		for (const field of BENCH_FIELDS) {
			for (let n = 1; n <= 50; n++) {
				const value = fieldValue(field, random, n);
				const result = validateField(field, value, { country: 'CN' });
				expect(result.ok, `${field} = ${JSON.stringify(value)}: ${result.ok ? '' : result.message}`).toBe(true);
			}
		}
		const next = editStream(3);
		for (let i = 0; i < 500; i++) {
			const edit = next();
			if (edit.kind === 'field') expect(validateField(edit.field, edit.value, { country: 'CN' }).ok).toBe(true);
		}
	});
});
