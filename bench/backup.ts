/**
 * Backup and restore at size: a workspace of N records (each a document with its initial
 * state, a few later updates with their audit entries, and its projection) written with
 * the real store, then:
 *
 * - backup: how long the read transaction is held (on PGlite, how long the server's writes
 *   would wait), the whole write, and the file's size, with and without encryption;
 * - restore into a fresh database of the same engine: the whole restore.
 *
 * Prints a table and writes bench/results/backup-<store>.json. Not part of npm test.
 *
 *   node --import tsx bench/backup.ts [--records 2000] [--store pglite|postgres]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes, randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import { createSqlStore } from '../server/store/sql-store.ts';
import { openPglite, openPostgres } from '../server/store/sql.ts';
import type { Sql } from '../server/store/types.ts';
import { writeBackup } from '../server/backup/dump.ts';
import { restoreBackup } from '../server/backup/restore.ts';
import { fieldsOf, readRecord, writeNewRecord } from '../src/lib/model/record.ts';
import { projectRecord } from '../src/lib/model/projection.ts';
import { tempPostgresUrl, type TempPostgres } from '../tests/support/databases.ts';
import { RESULTS_DIR, ms } from './lib/report.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '2000' }, store: { type: 'string' } } });
const COUNT = Number(values.records);
const STORE = values.store ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
const UPDATES_PER_RECORD = 5;

const dir = mkdtempSync(path.join(os.tmpdir(), 'accord-bench-backup-'));
const databases: TempPostgres[] = [];

async function open(name: string): Promise<Sql> {
	if (STORE === 'postgres') {
		const database = await tempPostgresUrl();
		if (!database) throw new Error('--store postgres needs DATABASE_URL');
		databases.push(database);
		return openPostgres(database.url);
	}
	return openPglite(path.join(dir, name));
}

try {
	const sourceSql = await open('source');
	const store = createSqlStore(sourceSql);
	await store.migrate();
	await store.ensureWorkspace('bench', 'bench');
	const filled = performance.now();
	for (let i = 0; i < COUNT; i++) {
		const id = randomUUID();
		const doc = new Y.Doc();
		writeNewRecord(doc, { fields: { name: `客户 ${i}`, company: `Company ${i % 97}`, email: `c${i}@example.com`, city: 'Shanghai', value: i }, tags: ['bench'], notes: 'Met at the fair.', workspace: 'bench', createdBy: 'bench' });
		await store.createDocument(id, 'bench', Y.encodeStateAsUpdate(doc), projectRecord(readRecord(doc, id), new Date().toISOString()));
		const updates = [];
		for (let u = 0; u < UPDATES_PER_RECORD; u++) {
			const before = Y.encodeStateVector(doc);
			fieldsOf(doc).set('city', `City ${u}`);
			updates.push({
				documentId: id,
				update: Y.encodeStateAsUpdate(doc, before),
				audit: [{ workspace: 'bench', recordId: id, at: new Date().toISOString(), actor: { id: 'bench', name: 'Bench' }, source: 'api' as const, relayedBy: null, path: 'fields.city', op: 'set' as const, before: null, after: `City ${u}`, conflict: null }]
			});
		}
		await store.appendUpdates(updates);
		doc.destroy();
	}
	const fillMs = performance.now() - filled;

	const rows: { case: string; snapshotMs: number; totalMs: number; bytes: number; restoreMs: number }[] = [];
	for (const encrypted of [false, true]) {
		const key = encrypted ? randomBytes(32) : undefined;
		const file = path.join(dir, `bench-${encrypted ? 'enc' : 'plain'}.accordbackup`);
		const started = performance.now();
		const result = await writeBackup(sourceSql, file, { key });
		const totalMs = performance.now() - started;
		const target = await open(`target-${encrypted ? 'enc' : 'plain'}`);
		const restoring = performance.now();
		await restoreBackup(target, file, { key });
		const restoreMs = performance.now() - restoring;
		await target.close();
		rows.push({ case: encrypted ? 'gzip + AES-256-GCM' : 'gzip', snapshotMs: result.snapshotMs, totalMs, bytes: result.bytes, restoreMs });
	}
	await sourceSql.close();

	console.log(`\nBackup and restore, ${STORE}: ${COUNT} records, ${UPDATES_PER_RECORD} updates and audit entries each (filled in ${(fillMs / 1000).toFixed(1)} s)\n`);
	console.log('| file | snapshot held | backup total | size | restore (fresh database) |');
	console.log('| --- | ---: | ---: | ---: | ---: |');
	for (const row of rows) console.log(`| ${row.case} | ${ms(row.snapshotMs, 0)} | ${ms(row.totalMs, 0)} | ${(row.bytes / 1024 / 1024).toFixed(2)} MB | ${ms(row.restoreMs, 0)} |`);
	writeFileSync(path.join(RESULTS_DIR, `backup-${STORE}.json`), JSON.stringify({ store: STORE, records: COUNT, updatesPerRecord: UPDATES_PER_RECORD, at: new Date().toISOString(), rows }, null, 2) + '\n');
} finally {
	for (const database of databases) await database.drop();
	rmSync(dir, { recursive: true, force: true });
}
