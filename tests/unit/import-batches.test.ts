/**
 * How an import hands its batches to the writer (server/import/run.ts): the next batch
 * is read, checked and prepared while the one before it is being written, but batches
 * are written one at a time and in order, a failed batch stops every later one, and a
 * cancel that arrives while a batch is being written stops before the next. The rows
 * are a real CSV through the real reader and validator; the writer is the import's own
 * `WriteBatch` seam, which records what it was asked to do instead of storing it.
 */
import { describe, expect, it } from 'vitest';
import { IMPORT_BATCH, runImport, type BatchResult, type ImportOptions, type ImportRow, type WriteBatch } from '../../server/import/run.ts';

const ROWS = IMPORT_BATCH * 4;

async function* csv(rows: number): AsyncGenerator<Uint8Array> {
	const lines = ['name,email'];
	for (let i = 1; i <= rows; i++) lines.push(`Customer ${i},c${i}@example.com`);
	yield new TextEncoder().encode(lines.join('\n'));
}

const options = (extra: Partial<ImportOptions> = {}): ImportOptions => ({ format: 'csv', dryRun: false, workspace: 'ws', createdBy: 'u1', ...extra });

/** A promise and the function that settles it, for a test to decide when a batch is written. */
function gate(): { promise: Promise<void>; open(): void } {
	let open!: () => void;
	const promise = new Promise<void>((resolve) => (open = resolve));
	return { promise, open };
}

const created = (rows: ImportRow[]): BatchResult => ({ outcomes: rows.map(() => 'created'), matched: 0 });

describe('an import writes its batches one at a time, in order', () => {
	it('prepares a batch while the one before it is being written, and writes it only once that one is in', async () => {
		const events: string[] = [];
		const secondPrepared = gate();
		let batch = 0;
		const write: WriteBatch = async (rows, { ready }) => {
			const n = ++batch;
			events.push(`prepare ${n}`);
			if (n === 2) secondPrepared.open();
			await ready();
			events.push(`write ${n}`);
			// Batch 1 stays "being written" until batch 2 is prepared; an import that waited for batch 1 before preparing batch 2
			// would wait forever, so the wait gives up after a while, and the order below then says what happened.
			if (n === 1) await Promise.race([secondPrepared.promise, new Promise((resolve) => setTimeout(resolve, 5_000))]);
			events.push(`written ${n}`);
			return created(rows);
		};
		const report = await runImport(csv(ROWS), options(), write);
		expect(report.created).toBe(ROWS);
		expect(report.writtenThrough).toBe(ROWS + 1);
		expect(events.indexOf('prepare 2')).toBeLessThan(events.indexOf('written 1'));
		// Written strictly one after the other, in order.
		expect(events.filter((e) => !e.startsWith('prepare'))).toEqual(['write 1', 'written 1', 'write 2', 'written 2', 'write 3', 'written 3', 'write 4', 'written 4']);
	});

	it('stops at a batch that fails: no later batch is written and the failure is the import’s', async () => {
		const written: number[] = [];
		let batch = 0;
		const write: WriteBatch = async (rows, { ready }) => {
			const n = ++batch;
			await ready();
			if (n === 2) throw new Error('the database went away');
			written.push(n);
			return created(rows);
		};
		await expect(runImport(csv(ROWS), options(), write)).rejects.toThrow('the database went away');
		expect(written).toEqual([1]);
	});

	it('stops before the next batch when a cancel arrives while a batch is being written; the report says which rows made it', async () => {
		const written: number[] = [];
		let cancel = false;
		let batch = 0;
		const write: WriteBatch = async (rows, { ready }) => {
			const n = ++batch;
			await ready();
			// Asked while batch 1 is being written (batch 2 is already prepared by then).
			if (n === 1) {
				await new Promise((resolve) => setTimeout(resolve, 0));
				cancel = true;
			}
			written.push(n);
			return created(rows);
		};
		const report = await runImport(csv(ROWS), options({ cancelled: () => cancel }), write);
		expect(written).toEqual([1]);
		expect(report.cancelled).toBe(true);
		expect(report.created).toBe(IMPORT_BATCH);
		expect(report.writtenThrough).toBe(IMPORT_BATCH + 1);
	});
});
