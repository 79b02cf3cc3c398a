/**
 * "Server = browser": `GET /api/analytics` (SQL aggregates over the projection, the audit
 * log's stage changes and the analytics tables) gives exactly the numbers the shared module
 * (src/lib/analytics/aggregate.ts, what the browser runs offline) gives over the same
 * records, read back through the public API. On PGlite always, and on Postgres when
 * DATABASE_URL is set. Activities are written as any Yjs client writes them (y-websocket).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/http.ts';
import { computeDashboard, type AnalyticsActivity, type AnalyticsOptions, type AnalyticsRecord, type Dashboard, type StageChange } from '../../src/lib/analytics/aggregate.ts';
import { analyticsSearch } from '../../src/lib/analytics/query.ts';
import { parseQuery } from '../../src/lib/search/query.ts';
import { matches } from '../../src/lib/search/match.ts';
import type { AuditPage } from '../../src/lib/model/audit.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import type { RecordRow } from '../../src/lib/model/projection.ts';
import { activitiesOf } from '../../src/lib/model/record.ts';
import type { Scalar } from '../../src/lib/model/schema.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { providersSynced, yWebsocketClient } from '../support/sync-client.ts';

const engines = [
	{ name: 'pglite', available: true },
	{ name: 'postgres', available: Boolean(process.env.DATABASE_URL) }
];

const DAY = 86_400_000;

async function json<T>(response: Response, status = 200): Promise<T> {
	const text = await response.text();
	expect(response.status, text).toBe(status);
	return JSON.parse(text) as T;
}

/** Adds activities to a record as a stock y-websocket client does, and waits until the server has them. */
async function addActivities(server: RunningServer, id: string, ats: string[]): Promise<void> {
	const { doc, provider } = yWebsocketClient(server, 'editor', id);
	try {
		await providersSynced(provider);
		doc.transact(() => {
			activitiesOf(doc).push(
				ats.map((at, i) => {
					const item = new Y.Map<Scalar>();
					item.set('id', `${id.slice(0, 8)}-a${i}`);
					item.set('kind', 'call');
					item.set('subject', `Call ${i}`);
					item.set('at', at);
					return item;
				})
			);
		});
		await eventually(async () => {
			const record = await json<CustomerRecord>(await apiFetch(`${server.url}/api/records/${id}`));
			return record.activities.length === ats.length;
		}, 'the activities reached the server');
	} finally {
		provider.destroy();
		doc.destroy();
	}
}

/** What the browser would compute from: every record (in the segment `q`, matched as the browser matches), its activities and follow-up, and the stage changes. */
async function reference(server: RunningServer, options: AnalyticsOptions, q?: string): Promise<Dashboard> {
	const parsed = q ? parseQuery(q) : null;
	if (parsed && !parsed.ok) throw new Error(parsed.message);
	const rows = (await json<{ rows: RecordRow[] }>(await apiFetch(`${server.url}/api/records?limit=500`))).rows;
	const records: AnalyticsRecord[] = [];
	const activities: AnalyticsActivity[] = [];
	for (const row of rows) {
		const full = await json<CustomerRecord>(await apiFetch(`${server.url}/api/records/${row.id}`));
		if (parsed?.ok && !matches(parsed.query, full)) continue;
		const follow = full.fields.followUpAt;
		records.push({
			id: row.id,
			name: row.name,
			stage: row.stage,
			owner: row.owner,
			value: row.value,
			currency: row.currency,
			createdAt: row.createdAt,
			followUpAt: typeof follow === 'string' ? follow : null,
			archived: row.archived
		});
		for (const activity of full.activities) activities.push({ recordId: row.id, at: new Date(activity.at).toISOString() });
	}
	const audit = await json<AuditPage>(await apiFetch(`${server.url}/api/audit?field=stage&limit=500`, {}, 'admin'));
	const changes: StageChange[] = audit.entries
		.filter((e) => e.path === 'fields.stage' && (e.op === 'set' || e.op === 'unset'))
		.map((e) => ({ recordId: e.recordId!, at: e.at, from: typeof e.before === 'string' ? e.before : null, to: typeof e.after === 'string' ? e.after : null }));
	return computeDashboard(records, activities, changes, options);
}

describe.each(engines)('analytics on $name', ({ name, available }) => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const now = new Date();
	const options = (timeZone: string): AnalyticsOptions => ({
		from: new Date(now.getTime() - 200 * DAY).toISOString(),
		to: new Date(now.getTime() + 200 * DAY).toISOString(),
		now: new Date(now.getTime() + 60_000).toISOString(),
		timeZone,
		churnDays: 30,
		listLimit: 10
	});

	beforeAll(async () => {
		if (!available) return;
		data = tempDataDir();
		server = name === 'pglite' ? await startTestServer({ databaseUrl: undefined, dataDir: data.dir }) : await startTestServer({ dataDir: data.dir });
		const day = (offset: number) => new Date(now.getTime() + offset * DAY).toISOString().slice(0, 10);
		const specs: { fields: Record<string, unknown>; moves: string[]; activities: number[] }[] = [
			{ fields: { name: 'Acme', stage: 'lead', owner: 'alice', value: 1200.5, currency: 'CNY', followUpAt: day(20) }, moves: ['qualified', 'proposal'], activities: [-1, -3, -40] },
			{ fields: { name: 'Blue Ocean', stage: 'lead', owner: 'bob', value: 300, currency: 'USD', followUpAt: day(45) }, moves: ['won'], activities: [-100] },
			{ fields: { name: '长城贸易', stage: 'qualified', owner: 'alice', value: 88000, currency: 'CNY', followUpAt: day(60) }, moves: ['negotiation', 'lost'], activities: [] },
			{ fields: { name: 'Delta', stage: 'negotiation', owner: 'bob', value: 10, currency: 'EUR', followUpAt: day(-5) }, moves: [], activities: [-2, -2.5, -60, -61, -62] },
			{ fields: { name: 'Echo', stage: 'proposal', value: 99.99, currency: 'CNY' }, moves: ['negotiation'], activities: [-0.2] },
			{ fields: { name: 'Foxtrot' }, moves: [], activities: [-10] },
			{ fields: { name: 'Golf', stage: 'lead', owner: 'alice', value: 1200.5, currency: 'CNY', followUpAt: day(20) }, moves: ['qualified', 'won'], activities: [] }
		];
		for (const spec of specs) {
			const id = await createRecord(server, spec.fields);
			for (const stage of spec.moves) {
				const response = await apiFetch(`${server.url}/api/records/${id}`, {
					method: 'PATCH',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ fields: { stage } })
				});
				expect(response.status, await response.text()).toBe(200);
				// Apart in time, so each move is its own audit entry rather than folded into the last.
				await new Promise((resolve) => setTimeout(resolve, 30));
			}
			if (spec.activities.length > 0) await addActivities(server, id, spec.activities.map((d) => new Date(now.getTime() + d * DAY).toISOString()));
		}
	}, 240_000);

	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	it.skipIf(!available).each(['UTC', 'Asia/Shanghai', 'America/Los_Angeles'])('gives the numbers the shared module gives (%s)', async (timeZone) => {
		const asked = options(timeZone);
		let last: { server: Dashboard; browser: Dashboard } | null = null;
		// The projection and the audit entries are written a moment after each change: ask until both sides settle on one answer.
		await eventually(async () => {
			const answer = await json<{ dashboard: Dashboard }>(await apiFetch(`${server.url}/api/analytics?${analyticsSearch(asked)}`));
			last = { server: answer.dashboard, browser: await reference(server, asked) };
			return JSON.stringify(last.server) === JSON.stringify(last.browser);
		}, 'the server and the shared module to agree', 15_000).catch(() => {});
		expect(last).not.toBeNull();
		expect(last!.server).toEqual(last!.browser);
		// And the data is not trivial: every chart has something in it.
		const d = last!.server;
		expect(d.pipelineByStage.length).toBeGreaterThan(3);
		expect(d.funnel[0].reached).toBe(6);
		expect(d.funnel[4].reached).toBe(2);
		expect(d.wonLost.reduce((n, m) => n + m.won + m.lost, 0)).toBe(3);
		expect(d.forecast.length).toBeGreaterThan(0);
		expect(d.heatmap.flat().reduce((a, b) => a + b, 0)).toBe(11);
		expect(d.churn.rows.map((r) => r.name)).toContain('Blue Ocean');
		expect(d.topCustomers.length).toBeGreaterThan(0);
	});

	/** Asks until the server and the shared module settle on one answer (the projection and audit entries land a moment after each change). */
	async function settle(asked: AnalyticsOptions, q?: string): Promise<{ server: Dashboard; browser: Dashboard }> {
		let last: { server: Dashboard; browser: Dashboard } | null = null;
		await eventually(async () => {
			const answer = await json<{ dashboard: Dashboard; options: { q: string | null } }>(await apiFetch(`${server.url}/api/analytics?${analyticsSearch({ ...asked, q })}`));
			expect(answer.options.q).toBe(q ?? null);
			last = { server: answer.dashboard, browser: await reference(server, asked, q) };
			return JSON.stringify(last.server) === JSON.stringify(last.browser);
		}, 'the server and the shared module to agree', 15_000).catch(() => {});
		expect(last).not.toBeNull();
		return last!;
	}

	it.skipIf(!available)('gives the same numbers over a range of whole days (read from the quarter-hour buckets)', async () => {
		const midnight = (offset: number) => new Date(Math.floor(now.getTime() / DAY) * DAY + offset * DAY).toISOString();
		const asked = { ...options('Asia/Shanghai'), from: midnight(-200), to: midnight(200) };
		const { server: got, browser } = await settle(asked);
		expect(got).toEqual(browser);
		expect(got.heatmap.flat().reduce((a, b) => a + b, 0)).toBe(11);
		expect(got.wonLost.reduce((n, m) => n + m.won + m.lost, 0)).toBe(3);
	});

	it.skipIf(!available).each(['owner:alice', 'Acme', 'value>1000', 'stage:won'])('with a segment (q=%s) gives the shared module\'s numbers over the matching records', async (q) => {
		const { server: got, browser } = await settle(options('UTC'), q);
		expect(got).toEqual(browser);
		expect(got.pipelineByStage.reduce((n, g) => n + g.count, 0)).toBeGreaterThan(0);
		const all = await settle(options('UTC'));
		expect(got.pipelineByStage.reduce((n, g) => n + g.count, 0)).toBeLessThan(all.server.pipelineByStage.reduce((n, g) => n + g.count, 0));
	});

	it.skipIf(!available)('follows a change at once, and refuses a question it cannot answer', async () => {
		const before = await json<{ dashboard: Dashboard }>(await apiFetch(`${server.url}/api/analytics?${analyticsSearch(options('UTC'))}`));
		const id = await createRecord(server, { name: 'Hotel', stage: 'lead', value: 5, currency: 'GBP' });
		await eventually(async () => {
			const after = await json<{ dashboard: Dashboard }>(await apiFetch(`${server.url}/api/analytics?${analyticsSearch(options('UTC'))}`));
			return after.dashboard.funnel[0].reached === before.dashboard.funnel[0].reached + 1 && after.dashboard.currencies.some((c) => c.currency === 'GBP');
		}, 'the new record counted');
		expect(id).toBeTruthy();
		const bad = await json<{ message: string }>(await apiFetch(`${server.url}/api/analytics?tz=Nowhere/Land`), 400);
		expect(bad.message).toMatch(/IANA/);
		const range = await json<{ message: string }>(await apiFetch(`${server.url}/api/analytics?from=2020-01-01&to=2019-01-01`), 400);
		expect(range.message).toMatch(/after/);
		const badSegment = await json<{ message: string }>(await apiFetch(`${server.url}/api/analytics?q=${encodeURIComponent('value>abc')}`), 400);
		expect(badSegment.message).toMatch(/^q: /);
		expect((await fetch(`${server.url}/api/analytics`)).status).toBe(401);
	});
});
