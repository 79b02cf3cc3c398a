/**
 * An import job's undo list is never behind what the import changed (issue 13: "written
 * in whole batches", "undo an import in one action"). A trigger the test puts on
 * `import_job_records` makes the database refuse one note, a real error inside the
 * import's own writes, on PGlite and on Postgres, through the real entry point (a job
 * started over HTTP, undone over HTTP):
 *   - create policy: the note of one record of the second batch is refused, so that
 *     batch is not written at all, neither its records nor their notes, nor is the batch
 *     after it; the batch before it is there with every note, and the undo archives
 *     exactly its records;
 *   - update policy: the note of an update is refused, so the record is not changed
 *     (a change whose note failed could never be undone);
 *   - merge policy: the note of a merge is refused, so nothing is merged.
 * Before the notes went into the writes' transactions (or ahead of them), each of these
 * left records created, updated or merged that the undo then missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/http.ts';
import { IMPORT_BATCH, type ImportReport } from '../../server/import/run.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';

const engines = [
	{ name: 'pglite', available: true },
	{ name: 'postgres', available: Boolean(process.env.DATABASE_URL) }
];

interface JobView {
	id: string;
	status: string;
	progress: { created: number; writtenThrough: number | null };
	report: (ImportReport & { message?: string }) | { message: string } | null;
}

describe.each(engines)('an import job on $name notes what it changes with the change', ({ name, available }) => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const sql = () => server.accord.database.sql;

	beforeAll(async () => {
		if (!available) return;
		data = tempDataDir();
		server = name === 'pglite' ? await startTestServer({ databaseUrl: undefined, dataDir: data.dir }) : await startTestServer({ dataDir: data.dir });
		// Notes the test refuses: of this kind, and of the record of this name (any record when null).
		await sql().query('CREATE TABLE refused_notes (kind text NOT NULL, name text)');
		await sql().query(`
			CREATE FUNCTION refuse_note() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF EXISTS (SELECT 1 FROM refused_notes r WHERE r.kind = NEW.kind
				           AND (r.name IS NULL OR r.name = (SELECT name FROM records WHERE id = NEW.record_id))) THEN
					RAISE EXCEPTION 'the test refuses the % note of %', NEW.kind, NEW.record_id;
				END IF;
				RETURN NEW;
			END $$`);
		await sql().query('CREATE TRIGGER refuse_note BEFORE INSERT ON import_job_records FOR EACH ROW EXECUTE FUNCTION refuse_note()');
	}, 120_000);
	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	async function refuse(kind: 'created' | 'updated' | 'merge', recordName: string | null): Promise<void> {
		await sql().query('DELETE FROM refused_notes');
		await sql().query('INSERT INTO refused_notes (kind, name) VALUES ($1, $2)', [kind, recordName]);
	}

	/** Starts a job, waits for it to end, and answers it. */
	async function runJob(csv: string, policy: string): Promise<JobView> {
		const started = await apiFetch(`${server.url}/api/import?${new URLSearchParams({ job: '1', name: 'customers.csv', policy })}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
		expect(started.status, await started.clone().text()).toBe(202);
		const { id } = (await started.json()) as JobView;
		let job: JobView | null = null;
		await eventually(
			async () => {
				job = (await (await apiFetch(`${server.url}/api/import/jobs/${id}`)).json()) as JobView;
				return job.status !== 'running';
			},
			`import job ${id} to end`,
			120_000
		);
		return job!;
	}

	const notesOf = async (job: string) =>
		(await sql().query<{ record_id: string; kind: string }>('SELECT record_id::text AS record_id, kind FROM import_job_records WHERE job_id = $1', [job])).map((row) => `${row.kind}:${row.record_id}`).sort();

	const undo = async (job: string) => {
		const response = await apiFetch(`${server.url}/api/import/jobs/${job}/undo`, { method: 'POST' }, 'admin');
		expect(response.status).toBe(200);
		return (await response.json()) as { ok: boolean; archived: number; restored: number; mergesUndone: number };
	};

	const record = async (id: string) => (await (await apiFetch(`${server.url}/api/records/${id}`)).json()) as CustomerRecord;

	it.runIf(available)('a batch whose note fails is not written at all; the batch before it is, with its notes, and the undo takes exactly that back', async () => {
		const rows = 3 * IMPORT_BATCH;
		// In the second batch: the first is written, the second refused, the third never written.
		const doomed = IMPORT_BATCH + 100;
		await refuse('created', `Atomic ${doomed}`);
		const lines = ['name,email'];
		for (let i = 1; i <= rows; i++) lines.push(`Atomic ${i},atomic${i}@notes.cn`);
		const job = await runJob(lines.join('\n'), 'create');
		expect(job.status).toBe('failed');
		expect(job.report).toMatchObject({ message: expect.stringContaining('the test refuses') as string });
		// The job says what made it: the first batch, up to its last row (the header is row 1).
		expect(job.progress).toMatchObject({ created: IMPORT_BATCH, writtenThrough: IMPORT_BATCH + 1 });

		const stored = await sql().query<{ id: string; name: string; archived: boolean }>("SELECT id::text AS id, name, archived FROM records WHERE name LIKE 'Atomic %'");
		const written = stored.map((r) => Number(r.name.slice('Atomic '.length))).sort((a, b) => a - b);
		// Whole batches: exactly the first, not one record of the refused batch (nor of the one after it).
		expect(written).toEqual(Array.from({ length: IMPORT_BATCH }, (_, k) => k + 1));
		expect(await notesOf(job.id)).toEqual(stored.map((r) => `created:${r.id}`).sort());

		expect(await undo(job.id)).toMatchObject({ ok: true, archived: IMPORT_BATCH, restored: 0 });
		const after = await sql().query<{ n: number }>("SELECT count(*)::int AS n FROM records WHERE name LIKE 'Atomic %' AND NOT archived");
		expect(after[0].n).toBe(0);
	}, 180_000);

	it.runIf(available)('an update whose note fails is not made: the record keeps its values, and the undo archives what the job created', async () => {
		const kept = await createRecord(server, { name: 'Kept', email: 'kept@notes.cn', city: 'Nanjing' });
		await refuse('updated', null);
		const job = await runJob(['name,email,city', 'Fresh A,fresh-a@notes.cn,', 'Kept,kept@notes.cn,Suzhou', 'Fresh B,fresh-b@notes.cn,'].join('\n'), 'update');
		expect(job.status).toBe('failed');
		expect((await record(kept)).fields).toMatchObject({ name: 'Kept', city: 'Nanjing' });
		const fresh = await sql().query<{ id: string }>("SELECT id::text AS id FROM records WHERE name IN ('Fresh A', 'Fresh B')");
		expect(fresh).toHaveLength(2);
		expect(await notesOf(job.id)).toEqual(fresh.map((r) => `created:${r.id}`).sort());
		expect(await undo(job.id)).toMatchObject({ ok: true, archived: 2, restored: 0 });
		expect((await record(kept)).fields).toMatchObject({ name: 'Kept', city: 'Nanjing' });
		expect((await record(kept)).meta.archived).toBe(false);
	}, 120_000);

	it.runIf(available)('a merge whose note fails is not made: the survivor keeps its values, and the undo archives the row the job created for it', async () => {
		const survivor = await createRecord(server, { name: 'Survivor', email: 'survivor@notes.cn' });
		await refuse('merge', null);
		const job = await runJob(['name,email,city', 'Merged In,survivor@notes.cn,Hangzhou'].join('\n'), 'merge');
		expect(job.status).toBe('failed');
		expect((await record(survivor)).fields.city ?? null).toBeNull();
		const merges = await sql().query<{ n: number }>('SELECT count(*)::int AS n FROM record_merges WHERE survivor_id = $1', [survivor]);
		expect(merges[0].n).toBe(0);
		const [row] = await sql().query<{ id: string }>("SELECT id::text AS id FROM records WHERE name = 'Merged In'");
		expect(await notesOf(job.id)).toEqual([`created:${row.id}`]);
		expect(await undo(job.id)).toMatchObject({ ok: true, archived: 1, restored: 0, mergesUndone: 0 });
		expect((await record(row.id)).meta.archived).toBe(true);
		expect((await record(survivor)).meta.archived).toBe(false);
	}, 120_000);
});
