/**
 * The cost of encryption at rest: Accord with a data key (every stored update, snapshot
 * and audit value sealed with AES-256-GCM, server/crypto/data-key.ts) against the same
 * build without one, in the same run, interleaved, under the team and the heavy load
 * (bench/lib/ab.ts); the number asked for is the server's CPU per update with and
 * without a key. Audit stays on in both.
 */
import { formatDataKey, newDataKey } from '../../server/crypto/data-key.ts';
import { abScenario } from '../lib/ab.ts';
import type { ScenarioResult } from '../lib/report.ts';
import type { Context } from '../lib/targets.ts';
import type { WorkerPool } from '../lib/workers.ts';

export function encryption(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const dataKey = formatDataKey(newDataKey());
	return abScenario(ctx, pool, {
		scenario: 'encryption',
		title: 'The cost of encryption at rest: a data key vs none (ACCORD_DATA_KEY), same run',
		variants: ['key', 'none'],
		field: 'key',
		// An empty ACCORD_DATA_KEY is no key (whatever the bench's own environment holds).
		env: (key) => ({ ACCORD_DATA_KEY: key === 'key' ? dataKey : '', ACCORD_DATA_KEY_FILE: '' }),
		label: (key) => (key === 'key' ? 'encrypted' : 'no key'),
		column: 'load: server, data key',
		costs: 'a data key costs',
		what: 'Both variants run the same build with sign-in, persistence and the audit log on; "encrypted" sets ACCORD_DATA_KEY: every update, snapshot and audit value stored is sealed (AES-256-GCM) and opened when read.'
	});
}
