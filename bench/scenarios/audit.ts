/**
 * The cost of auditing: Accord with its audit log on (client ids bound, field-level
 * entries computed per transaction and staged in the transaction that stores the
 * update, sealed into the hash chain) against the same build with ACCORD_AUDIT=0, in
 * the same run, interleaved, under the team and the heavy load (bench/lib/ab.ts).
 */
import { abScenario } from '../lib/ab.ts';
import type { ScenarioResult } from '../lib/report.ts';
import type { Context } from '../lib/targets.ts';
import type { WorkerPool } from '../lib/workers.ts';

export function audit(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	return abScenario(ctx, pool, {
		scenario: 'audit',
		title: 'The cost of auditing: audit log on vs off (ACCORD_AUDIT=0), same run',
		variants: ['on', 'off'],
		field: 'audit',
		env: (audit) => ({ ACCORD_AUDIT: audit === 'on' ? '1' : '0' }),
		label: (audit) => `audit ${audit}`,
		column: 'load: server, audit',
		costs: 'audit on costs',
		what: 'Both variants run the same build with sign-in and persistence on; "audit off" is ACCORD_AUDIT=0: no client-id bindings, no entries computed, staged or sealed.'
	});
}
