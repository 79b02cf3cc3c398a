/**
 * The soak's verdict (bench/lib/soak.ts) on made-up runs: a 30-minute soak is too slow to
 * find out that its judge cannot fail. Flat memory passes and a steady leak fails; a socket
 * left behind fails the handle check; a change the database lacks is counted; and what a
 * record's copies hold is compared by content, whatever order its fields were set in.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { handleChecks, memoryChecks, missingChanges, recordContent, slope, SOAK_BOUNDS, type HandleState } from '../../bench/lib/soak.ts';

const MB = 1024 * 1024;
const minutes = 30;
/** One RSS sample every 20 s and a settled one every minute, with a GC-like sawtooth of ±20 MB. */
function run(leakPerMinute: number) {
	const rss = Array.from({ length: minutes * 3 }, (_, i) => ({ minute: i / 3, rss: 650 * MB + (i % 3) * 20 * MB + leakPerMinute * (i / 3) }));
	const settled = Array.from({ length: minutes }, (_, i) => ({ minute: i, heap: 60 * MB + (i % 2) * 2 * MB + leakPerMinute * i, rss: 640 * MB + (i % 2) * 5 * MB + leakPerMinute * i }));
	return memoryChecks(rss, settled, minutes);
}

describe('soak verdict', () => {
	it('fits a slope', () => {
		expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2);
		expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }])).toBeNaN();
	});

	it('passes flat memory and fails a leak of 3 MB a minute', () => {
		expect(run(0).every((c) => c.pass)).toBe(true);
		const leaking = run(3 * MB);
		expect(leaking.filter((c) => !c.pass).map((c) => c.name)).toEqual([
			expect.stringContaining('RSS after full GC'),
			expect.stringContaining('heap after full GC')
		]);
	});

	it('fails a peak after warm-up far above the warm-up peak', () => {
		const rss = [0, 5, 10, 15, 20, 25, 29].map((minute) => ({ minute, rss: (minute === 25 ? 900 : 650) * MB }));
		const [peak] = memoryChecks(rss, [], minutes);
		expect(peak.pass).toBe(false);
	});

	it('fails a socket or a descriptor left behind, not the database files PostgreSQL keeps open', () => {
		const baseline: HandleState = { resources: { TCPServerWrap: 1, PipeWrap: 2 }, fds: { socket: 6, pipe: 15, 'database file': 170 }, portSockets: 0, documentsLoaded: 0, connections: 0, heapAfterGc: 48 * MB };
		const clean: HandleState = { ...baseline, fds: { ...baseline.fds, 'database file': 210 } };
		expect(handleChecks(baseline, clean).every((c) => c.pass)).toBe(true);
		const leaked: HandleState = { ...baseline, resources: { ...baseline.resources, TCPSocketWrap: SOAK_BOUNDS.handleSlack + 1 }, fds: { ...baseline.fds, socket: 6 + SOAK_BOUNDS.fdSlack + 1 }, portSockets: 1 };
		const failed = handleChecks(baseline, leaked).filter((c) => !c.pass);
		expect(failed).toHaveLength(3);
		expect(failed[0].value).toContain(`TCPSocketWrap +${SOAK_BOUNDS.handleSlack + 1}`);
	});

	it('fails a heap that keeps more than the slack once every client and record is gone', () => {
		const baseline: HandleState = { resources: {}, fds: {}, portSockets: 0, documentsLoaded: 0, connections: 0, heapAfterGc: 48 * MB };
		const check = (heap: number) => handleChecks(baseline, { ...baseline, heapAfterGc: heap }).find((c) => c.name.startsWith('heap after full GC'))!;
		expect(check(48 * MB + SOAK_BOUNDS.retainedHeapSlackBytes).pass).toBe(true);
		expect(check(48 * MB + SOAK_BOUNDS.retainedHeapSlackBytes + 1).pass).toBe(false);
	});

	it('counts the changes a database lacks', () => {
		const held = new Map([[1, 10], [2, 5]]);
		expect(missingChanges(held, new Map([[1, 10], [2, 5]]))).toEqual({ clients: 0, clocks: 0 });
		expect(missingChanges(held, new Map([[1, 12], [3, 4]]))).toEqual({ clients: 2, clocks: 6 });
	});

	it('compares content whatever order the fields were set in', () => {
		const a = new Y.Doc();
		const b = new Y.Doc();
		a.getMap('fields').set('name', 'Acme');
		a.getMap('fields').set('city', 'Shanghai');
		b.getMap('fields').set('city', 'Shanghai');
		b.getMap('fields').set('name', 'Acme');
		expect(recordContent(a)).toBe(recordContent(b));
		b.getText('notes').insert(0, 'x');
		expect(recordContent(a)).not.toBe(recordContent(b));
	});
});
