/**
 * What the database keeps of import jobs (tables `import_jobs` and `import_job_records`,
 * see migrations.ts): each job's state and progress, so every instance answers "is an
 * import running, how far is it" and the one-running-import rule holds across them; and
 * every record a job created or changed (with what it was before), so an admin can
 * undo the import after a restart too.
 *
 * Those notes are never behind what the job did: a note of created records or of a
 * merge is work for the transaction that creates them or records the merge
 * (`notesWith`, the store's "also in this transaction"), stored with it or not at all;
 * a note of an update is written before the update (`records`).
 */
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import type { AlsoInTransaction, Sql, SqlTx } from '../store/types.ts';

export const JOB_STATUSES = ['running', 'done', 'failed', 'cancelled', 'undone'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A job's progress as shown to the workspace (written at most about once a second while it runs). */
export interface JobProgress {
	rowsRead: number;
	created: number;
	updated: number;
	merged: number;
	skipped: number;
	unchanged: number;
	rejected: number;
	writtenThrough: number | null;
	bytesRead: number;
	bytesTotal: number;
	/** Rows read per second so far. */
	rate: number;
	/** Seconds left at this rate (from the bytes still to read); null until there is a rate. */
	secondsLeft: number | null;
}

export interface JobRow {
	id: string;
	workspace: string;
	status: JobStatus;
	fileName: string;
	policy: string;
	startedBy: { id: string; name: string };
	startedAt: string;
	finishedAt: string | null;
	progress: JobProgress;
	/** The import's final report (JSON as text), once it finished. */
	report: string | null;
	undoneBy: { id: string; name: string } | null;
	undoneAt: string | null;
}

/** A record the job touched: `created`, `updated` (with what it was before), or a `merge` it made (the id is the merge's). */
export interface JobRecord {
	recordId: string;
	kind: 'created' | 'updated' | 'merge';
	before: CustomerRecord | null;
}

interface Stored {
	id: string;
	workspace_id: string;
	status: JobStatus;
	file_name: string;
	policy: string;
	started_by: string;
	started_by_name: string;
	started_at: Date | string;
	finished_at: Date | string | null;
	progress: string;
	report: string | null;
	undone_by: string | null;
	undone_by_name: string | null;
	undone_at: Date | string | null;
}

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

function rowOf(stored: Stored): JobRow {
	return {
		id: stored.id,
		workspace: stored.workspace_id,
		status: stored.status,
		fileName: stored.file_name,
		policy: stored.policy,
		startedBy: { id: stored.started_by, name: stored.started_by_name },
		startedAt: iso(stored.started_at)!,
		finishedAt: iso(stored.finished_at),
		progress: JSON.parse(stored.progress) as JobProgress,
		report: stored.report,
		undoneBy: stored.undone_by ? { id: stored.undone_by, name: stored.undone_by_name ?? stored.undone_by } : null,
		undoneAt: iso(stored.undone_at)
	};
}

/** Notes what a job did, on a connection or in a transaction. */
async function insertJobRecords(on: Pick<SqlTx, 'query'>, jobId: string, records: readonly JobRecord[]): Promise<void> {
	if (records.length === 0) return;
	// A record changed twice by one job keeps what it was before the first change.
	await on.query(
		`INSERT INTO import_job_records (job_id, record_id, kind, before)
		 SELECT $1, r.record_id, r.kind, r.before FROM unnest($2::uuid[], $3::text[], $4::text[]) AS r(record_id, kind, before)
		 ON CONFLICT (job_id, record_id) DO NOTHING`,
		[jobId, records.map((r) => r.recordId), records.map((r) => r.kind), records.map((r) => (r.before ? JSON.stringify(r.before) : null))]
	);
}

const COLUMNS = 'id::text AS id, workspace_id, status, file_name, policy, started_by, started_by_name, started_at, finished_at, progress, report, undone_by, undone_by_name, undone_at';

export function createJobStore(sql: Pick<Sql, 'query' | 'transaction'>) {
	return {
		/**
		 * Records a new running job, unless the workspace has one running already (false).
		 * The check and the insert are one statement, so two instances cannot both start one.
		 */
		async begin(job: { id: string; workspace: string; fileName: string; policy: string; by: { id: string; name: string }; progress: JobProgress }): Promise<boolean> {
			try {
				const rows = await sql.query(
					`INSERT INTO import_jobs (id, workspace_id, status, file_name, policy, started_by, started_by_name, progress)
					 SELECT $1, $2, 'running', $3, $4, $5, $6, $7
					  WHERE NOT EXISTS (SELECT 1 FROM import_jobs WHERE workspace_id = $2 AND status = 'running')
					 RETURNING id`,
					[job.id, job.workspace, job.fileName.slice(0, 200), job.policy, job.by.id, job.by.name, JSON.stringify(job.progress)]
				);
				return rows.length === 1;
			} catch (error) {
				// Two at once: the unique index on running jobs refused the second.
				if (/import_jobs_one_running|unique/i.test((error as Error).message)) return false;
				throw error;
			}
		},

		/** Writes a running job's progress; answers whether someone asked to cancel it. */
		async progress(id: string, progress: JobProgress): Promise<boolean> {
			const [row] = await sql.query<{ cancel_requested: boolean }>(
				`UPDATE import_jobs SET progress = $2 WHERE id = $1 AND status = 'running' RETURNING cancel_requested`,
				[id, JSON.stringify(progress)]
			);
			return row?.cancel_requested === true;
		},

		/** Asks a running job to stop after its current batch; false when it is not running. */
		async requestCancel(workspace: string, id: string): Promise<boolean> {
			const rows = await sql.query(`UPDATE import_jobs SET cancel_requested = true WHERE workspace_id = $1 AND id = $2 AND status = 'running' RETURNING id`, [workspace, id]);
			return rows.length === 1;
		},

		async finish(id: string, status: Exclude<JobStatus, 'running' | 'undone'>, progress: JobProgress, report: string | null): Promise<void> {
			await sql.query(`UPDATE import_jobs SET status = $2, progress = $3, report = $4, finished_at = now() WHERE id = $1`, [id, status, JSON.stringify(progress), report]);
		},

		/** Jobs left running by an instance that stopped: they will never finish, so they are failed (at start). */
		async failAbandoned(workspace: string): Promise<void> {
			await sql.query(`UPDATE import_jobs SET status = 'failed', finished_at = now() WHERE workspace_id = $1 AND status = 'running'`, [workspace]);
		},

		/** Notes what the job did (or is about to do: an update's note goes first), in a transaction of its own. */
		records: (jobId: string, records: readonly JobRecord[]): Promise<void> => insertJobRecords(sql, jobId, records),

		/** The same notes as work for another write's transaction (`alsoInTransaction`): stored with what they describe, or neither is. */
		notesWith:
			(jobId: string, records: readonly JobRecord[]): AlsoInTransaction =>
			(tx) =>
				insertJobRecords(tx, jobId, records),

		async touched(jobId: string): Promise<JobRecord[]> {
			const rows = await sql.query<{ record_id: string; kind: JobRecord['kind']; before: string | null }>(
				'SELECT record_id::text AS record_id, kind, before FROM import_job_records WHERE job_id = $1',
				[jobId]
			);
			return rows.map((row) => ({ recordId: row.record_id, kind: row.kind, before: row.before ? (JSON.parse(row.before) as CustomerRecord) : null }));
		},

		async get(workspace: string, id: string): Promise<JobRow | null> {
			const [row] = await sql.query<Stored>(`SELECT ${COLUMNS} FROM import_jobs WHERE workspace_id = $1 AND id = $2`, [workspace, id]);
			return row ? rowOf(row) : null;
		},

		/** The workspace's latest jobs, newest first. */
		async list(workspace: string, limit: number): Promise<JobRow[]> {
			const rows = await sql.query<Stored>(`SELECT ${COLUMNS} FROM import_jobs WHERE workspace_id = $1 ORDER BY started_at DESC LIMIT $2`, [workspace, limit]);
			return rows.map(rowOf);
		},

		/** Marks a finished job undone; false when it was undone already (or is still running). */
		async claimUndo(id: string, by: { id: string; name: string }): Promise<boolean> {
			const rows = await sql.query(
				`UPDATE import_jobs SET status = 'undone', undone_by = $2, undone_by_name = $3, undone_at = now()
				  WHERE id = $1 AND status IN ('done', 'failed', 'cancelled') RETURNING id`,
				[id, by.id, by.name]
			);
			return rows.length === 1;
		}
	};
}

export type JobStore = ReturnType<typeof createJobStore>;
