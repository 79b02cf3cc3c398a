/**
 * The dashboard's arithmetic (src/lib/analytics/aggregate.ts) on small workspaces whose
 * answers were worked out by hand: funnel and days in stage, won/lost per month, new
 * customers per week, the weighted forecast, heat-map buckets in a time zone, RFM scores,
 * churn risk and per-currency sums.
 */
import { describe, expect, it } from 'vitest';
import {
	computeDashboard,
	frequencyScore,
	recencyScore,
	weekOf,
	monthOf,
	type AnalyticsActivity,
	type AnalyticsOptions,
	type AnalyticsRecord,
	type StageChange
} from '../../src/lib/analytics/aggregate.ts';
import { parseAnalyticsQuery } from '../../src/lib/analytics/query.ts';

const options: AnalyticsOptions = {
	from: '2026-01-01T00:00:00.000Z',
	to: '2026-07-01T00:00:00.000Z',
	now: '2026-06-30T12:00:00.000Z',
	timeZone: 'UTC',
	churnDays: 30,
	listLimit: 10
};

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function record(n: number, fields: Partial<AnalyticsRecord> = {}): AnalyticsRecord {
	return {
		id: id(n),
		name: `R${n}`,
		stage: 'lead',
		owner: 'ana',
		value: null,
		currency: null,
		createdAt: '2026-02-02T09:00:00.000Z',
		followUpAt: null,
		archived: false,
		...fields
	};
}

describe('pipeline and currencies', () => {
	it('sums values per currency and never across them, in hundredths', () => {
		const records = [
			record(1, { stage: 'lead', value: 0.1, currency: 'CNY' }),
			record(2, { stage: 'lead', value: 0.2, currency: 'CNY' }),
			record(3, { stage: 'lead', value: 5, currency: 'USD' }),
			record(4, { stage: 'won', value: 7, currency: null }),
			record(5, { stage: 'proposal', owner: 'bo' }),
			record(6, { stage: 'lead', value: 100, currency: 'CNY', archived: true }),
			record(7, { stage: 'lead', value: 100, currency: 'CNY', createdAt: '2025-12-31T23:59:59.000Z' })
		];
		const d = computeDashboard(records, [], [], options);
		expect(d.pipelineByStage).toEqual([
			{ key: 'lead', count: 3, totals: [{ currency: 'CNY', amount: 0.3 }, { currency: 'USD', amount: 5 }] },
			{ key: 'proposal', count: 1, totals: [] },
			{ key: 'won', count: 1, totals: [{ currency: null, amount: 7 }] }
		]);
		// Owners: open deals only (won left out).
		expect(d.pipelineByOwner).toEqual([
			{ key: 'ana', count: 3, totals: [{ currency: 'CNY', amount: 0.3 }, { currency: 'USD', amount: 5 }] },
			{ key: 'bo', count: 1, totals: [] }
		]);
		expect(d.currencies).toEqual([
			{ currency: 'CNY', amount: 0.3 },
			{ currency: 'USD', amount: 5 },
			{ currency: null, amount: 7 }
		]);
	});
});

describe('funnel and days in stage', () => {
	it('counts the furthest stage each record reached and the median completed stay', () => {
		const records = [
			// Created 1 Feb; lead → qualified after 2 days → proposal 4 days later → lost 1 day later.
			record(1, { stage: 'lost', createdAt: '2026-02-01T00:00:00.000Z' }),
			// lead → qualified after 4 days, still qualified.
			record(2, { stage: 'qualified', createdAt: '2026-02-01T00:00:00.000Z' }),
			// Straight to won after 10 days in lead.
			record(3, { stage: 'won', createdAt: '2026-02-01T00:00:00.000Z' }),
			// Never moved.
			record(4, { stage: 'lead' }),
			// No stage: not in the funnel.
			record(5, { stage: null })
		];
		const changes: StageChange[] = [
			{ recordId: id(1), at: '2026-02-03T00:00:00.000Z', from: 'lead', to: 'qualified' },
			{ recordId: id(1), at: '2026-02-07T00:00:00.000Z', from: 'qualified', to: 'proposal' },
			{ recordId: id(1), at: '2026-02-08T00:00:00.000Z', from: 'proposal', to: 'lost' },
			{ recordId: id(2), at: '2026-02-05T00:00:00.000Z', from: 'lead', to: 'qualified' },
			{ recordId: id(3), at: '2026-02-11T00:00:00.000Z', from: 'lead', to: 'won' }
		];
		const d = computeDashboard(records, [], changes, options);
		expect(d.funnel).toEqual([
			// Lead stays: 2, 4, 10 days → median 4.
			{ stage: 'lead', reached: 4, conversion: 1, medianDays: 4 },
			// Record 3 skipped qualified and proposal but reached won, which lies beyond them.
			{ stage: 'qualified', reached: 3, conversion: 0.75, medianDays: 4 },
			{ stage: 'proposal', reached: 2, conversion: 0.6667, medianDays: 1 },
			{ stage: 'negotiation', reached: 1, conversion: 0.5, medianDays: null },
			{ stage: 'won', reached: 1, conversion: 1, medianDays: null }
		]);
		expect(d.wonLost).toEqual([{ month: '2026-02', won: 1, lost: 1 }]);
	});

	it('takes the median of an even count as the mean of the middle two', () => {
		const records = [1, 2].map((n) => record(n, { stage: 'qualified', createdAt: '2026-03-01T00:00:00.000Z' }));
		const changes: StageChange[] = [
			{ recordId: id(1), at: '2026-03-02T00:00:00.000Z', from: 'lead', to: 'qualified' },
			{ recordId: id(2), at: '2026-03-04T12:00:00.000Z', from: 'lead', to: 'qualified' }
		];
		expect(computeDashboard(records, [], changes, options).funnel[0].medianDays).toBe(2.25);
	});
});

describe('time buckets in the person’s time zone', () => {
	it('puts an instant in the month, ISO week and weekday/hour of that zone', () => {
		// 2026-03-31 20:30 UTC is Wednesday 1 April 04:30 in Shanghai (UTC+8).
		expect(monthOf('2026-03-31T20:30:00.000Z', 'UTC')).toBe('2026-03');
		expect(monthOf('2026-03-31T20:30:00.000Z', 'Asia/Shanghai')).toBe('2026-04');
		// Sunday 5 April 2026 belongs to the week starting Monday 30 March.
		expect(weekOf('2026-04-05T10:00:00.000Z', 'UTC')).toBe('2026-03-30');
		expect(weekOf('2026-04-05T20:00:00.000Z', 'Asia/Shanghai')).toBe('2026-04-06');

		const records = [record(1)];
		const activities: AnalyticsActivity[] = [
			{ recordId: id(1), at: '2026-03-31T20:30:00.000Z' },
			{ recordId: id(1), at: '2026-03-31T20:59:00.000Z' },
			{ recordId: id(1), at: '2026-04-05T23:00:00.000Z' }
		];
		const utc = computeDashboard(records, activities, [], options).heatmap;
		expect(utc[1][20]).toBe(2); // Tuesday 20:00
		expect(utc[6][23]).toBe(1); // Sunday 23:00
		const shanghai = computeDashboard(records, activities, [], { ...options, timeZone: 'Asia/Shanghai' }).heatmap;
		expect(shanghai[2][4]).toBe(2); // Wednesday 04:00
		expect(shanghai[0][7]).toBe(1); // Monday 07:00
		expect(shanghai.flat().reduce((a, b) => a + b, 0)).toBe(3);
	});

	it('counts new customers per week of creation', () => {
		const records = [
			record(1, { createdAt: '2026-03-30T01:00:00.000Z' }),
			record(2, { createdAt: '2026-04-05T22:00:00.000Z' }),
			record(3, { createdAt: '2026-04-06T00:00:00.000Z' })
		];
		expect(computeDashboard(records, [], [], options).newCustomers).toEqual([
			{ week: '2026-03-30', count: 2 },
			{ week: '2026-04-06', count: 1 }
		]);
	});
});

describe('weighted forecast', () => {
	it('weights open deals by stage, by month of expected close and currency', () => {
		const records = [
			record(1, { stage: 'lead', value: 1000, currency: 'CNY', followUpAt: '2026-05-10' }), // 10% → 100
			record(2, { stage: 'negotiation', value: 200, currency: 'CNY', followUpAt: '2026-05-31' }), // 75% → 150
			record(3, { stage: 'proposal', value: 99.99, currency: 'USD', followUpAt: '2026-05-01' }), // 50% → 49.995 → 50.00 (per deal, in cents)
			record(4, { stage: 'won', value: 5000, currency: 'CNY', followUpAt: '2026-05-01' }), // not open
			record(5, { stage: 'qualified', value: 400, currency: 'CNY', followUpAt: '2026-06-01' }), // 25% → 100
			record(6, { stage: 'qualified', value: 400, currency: 'CNY', followUpAt: '2026-07-01' }), // outside the range
			record(7, { stage: 'qualified', value: 400, currency: 'CNY', followUpAt: null }) // no expected close
		];
		expect(computeDashboard(records, [], [], options).forecast).toEqual([
			{ month: '2026-05', currency: 'CNY', amount: 1200, weighted: 250, count: 2 },
			{ month: '2026-05', currency: 'USD', amount: 99.99, weighted: 50, count: 1 },
			{ month: '2026-06', currency: 'CNY', amount: 400, weighted: 100, count: 1 }
		]);
	});
});

describe('customer value and churn', () => {
	it('scores recency, frequency and value, and lists the idle', () => {
		expect([null, 0, 7, 8, 30, 31, 90, 180, 181].map(recencyScore)).toEqual([1, 5, 5, 4, 4, 3, 3, 2, 1]);
		expect([0, 1, 4, 5, 9, 10, 19, 20].map(frequencyScore)).toEqual([1, 2, 2, 3, 3, 4, 4, 5]);
		const records = [
			record(1, { value: 100, currency: 'CNY' }),
			record(2, { value: 200, currency: 'CNY' }),
			record(3, { value: 300, currency: 'CNY' }),
			record(4, { value: 50, currency: 'USD', stage: 'lost' }),
			record(5, { value: null, createdAt: '2026-06-20T00:00:00.000Z' })
		];
		const activities: AnalyticsActivity[] = [
			// Record 1: 5 in range, the last one 2 days before now.
			...[1, 2, 3, 4].map((d) => ({ recordId: id(1), at: `2026-05-0${d}T10:00:00.000Z` })),
			{ recordId: id(1), at: '2026-06-28T12:00:00.000Z' },
			// Record 2: one, 45 days before now.
			{ recordId: id(2), at: '2026-05-16T12:00:00.000Z' },
			// A future task is not activity yet.
			{ recordId: id(3), at: '2026-08-01T12:00:00.000Z' }
		];
		const d = computeDashboard(records, activities, [], options);
		// M: CNY values 100/200/300 → 1 + ⌊5·0/3⌋ = 1, 1 + ⌊5·1/3⌋ = 2, 1 + ⌊5·2/3⌋ = 4; USD alone → 1; no value → 1.
		const byId = new Map(d.topCustomers.map((c) => [c.id, c]));
		expect(byId.get(id(1))).toMatchObject({ recencyDays: 2, frequency: 5, r: 5, f: 3, m: 1, score: 9 });
		expect(byId.get(id(2))).toMatchObject({ recencyDays: 45, frequency: 1, r: 3, f: 2, m: 2, score: 7 });
		expect(byId.get(id(3))).toMatchObject({ recencyDays: null, frequency: 0, r: 1, f: 1, m: 4, score: 6 });
		// Top list: by value within each currency.
		expect(d.topCustomers.map((c) => c.id)).toEqual([id(3), id(2), id(1), id(4)]);
		// Scores 9, 7, 6, and 3 for records 4 and 5.
		expect(d.scoreDistribution).toEqual([2, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
		// Churn (30 days): record 3 idle since creation (148 days), record 2 for 45; record 4 is lost; record 5 is 10 days old.
		expect(d.churn).toEqual({
			total: 2,
			rows: [
				expect.objectContaining({ id: id(3), idleDays: 148, lastActivityAt: null }),
				expect.objectContaining({ id: id(2), idleDays: 45, lastActivityAt: '2026-05-16T12:00:00.000Z' })
			]
		});
		expect(computeDashboard(records, activities, [], { ...options, churnDays: 100 }).churn.total).toBe(1);
	});
});

describe('the question', () => {
	it('reads the range, zone and N, and refuses what it cannot use', () => {
		const parsed = parseAnalyticsQuery(new URLSearchParams('from=2026-01-01&to=2026-02-01&tz=Asia/Shanghai&churnDays=14'));
		expect(parsed).toMatchObject({ ok: true, options: { from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z', timeZone: 'Asia/Shanghai', churnDays: 14 } });
		expect(parseAnalyticsQuery(new URLSearchParams('tz=Mars/Olympus'))).toMatchObject({ ok: false, message: expect.stringContaining('IANA') });
		expect(parseAnalyticsQuery(new URLSearchParams('from=2026-02-01&to=2026-01-01'))).toMatchObject({ ok: false });
		expect(parseAnalyticsQuery(new URLSearchParams('churnDays=0'))).toMatchObject({ ok: false });
		expect(parseAnalyticsQuery(new URLSearchParams('from=2000-01-01&to=2026-01-01'))).toMatchObject({ ok: false });
	});
});
