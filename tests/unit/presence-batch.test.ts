/**
 * Presence relayed in batches (server/sync/presence-batch.ts): changes at the end of the
 * turn, renewals within RENEWAL_DELAY_MS, each client id once per batch with the origin
 * of its latest change.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PresenceBatch, RENEWAL_DELAY_MS } from '../../server/sync/presence-batch.ts';

describe('PresenceBatch', () => {
	let flushed: Array<Map<number, unknown>>;
	let batch: PresenceBatch;

	beforeEach(() => {
		vi.useFakeTimers();
		flushed = [];
		batch = new PresenceBatch((clients) => flushed.push(new Map(clients)));
	});
	afterEach(() => {
		batch.stop();
		vi.useRealTimers();
	});

	it('relays the changes of one turn together, at its end', () => {
		batch.changed([1], 'a');
		batch.changed([2, 1], 'b');
		expect(flushed).toEqual([]);
		vi.runOnlyPendingTimers();
		expect(flushed).toEqual([
			new Map([
				[1, 'b'],
				[2, 'b']
			])
		]);
	});

	it('holds renewals back for at most RENEWAL_DELAY_MS and sends them as one', () => {
		batch.renewed([1], 'a');
		vi.advanceTimersByTime(RENEWAL_DELAY_MS / 2);
		batch.renewed([2], 'b');
		expect(flushed).toEqual([]);
		vi.advanceTimersByTime(RENEWAL_DELAY_MS / 2);
		expect(flushed).toEqual([
			new Map([
				[1, 'a'],
				[2, 'b']
			])
		]);
		vi.advanceTimersByTime(RENEWAL_DELAY_MS * 2);
		expect(flushed).toHaveLength(1);
	});

	it('sends waiting renewals along with the next change', () => {
		batch.renewed([1], 'a');
		batch.changed([2], 'b');
		vi.runOnlyPendingTimers();
		expect(flushed).toEqual([
			new Map([
				[1, 'a'],
				[2, 'b']
			])
		]);
		vi.advanceTimersByTime(RENEWAL_DELAY_MS);
		expect(flushed).toHaveLength(1);
	});

	it('relays nothing once stopped', () => {
		batch.changed([1], 'a');
		batch.renewed([2], 'a');
		batch.stop();
		vi.advanceTimersByTime(RENEWAL_DELAY_MS);
		expect(flushed).toEqual([]);
	});
});
