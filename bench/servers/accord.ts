/**
 * Accord under test: the production entry (`startServer`, the built app, the sync
 * server, sign-in with API tokens), with its embedded defaults (PGlite, in-process bus)
 * or with Postgres and Redis. Options arrive as JSON in BENCH_SERVER.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfig } from '../../server/config.ts';
import { startServer } from '../../server/http.ts';
import type { NewRecord } from '../../src/lib/model/record.ts';
import { fail, serve } from './common.ts';
import { BENCH_OWNERS } from '../lib/workload.ts';

interface Options {
	port?: number;
	databaseUrl?: string;
	redisUrl?: string;
	/** Extra environment, as Accord reads it (ACCORD_COMMIT_DELAY_MS, …). */
	env?: Record<string, string>;
	/** PGlite's directory, kept after the server stops (the soak reads it back); a fresh temporary one otherwise. */
	dataDir?: string;
}

const options = JSON.parse(process.env.BENCH_SERVER ?? '{}') as Options;
const dataDir = options.databaseUrl || options.dataDir ? null : mkdtempSync(path.join(os.tmpdir(), 'accord-bench-'));

try {
	const config = readConfig(
		{ LOG_LEVEL: 'error', ...options.env },
		{
			port: options.port ?? 0,
			host: '127.0.0.1',
			seedDemo: false,
			dataDir: options.dataDir ?? dataDir ?? os.tmpdir(),
			databaseUrl: options.databaseUrl,
			redisUrl: options.redisUrl
		}
	);
	const running = await startServer(config);
	const { accord } = running;
	const workspace = accord.services.defaultWorkspace;
	const { token } = await accord.database.auth.createApiToken({ workspace, name: 'bench', role: 'editor', createdBy: 'bench' });
	const { token: adminToken } = await accord.database.auth.createApiToken({ workspace, name: 'bench-admin', role: 'admin', createdBy: 'bench' });
	// The workload assigns records to these people: owners must be members.
	for (const id of BENCH_OWNERS) {
		const user = await accord.database.auth.upsertUser({ issuer: 'bench', subject: id, name: id, email: null, id, signingIn: false });
		await accord.database.auth.setMembership(workspace, user.id, 'editor', null);
	}
	// The live path checks owners against the member list it last read: read it again now.
	await (accord.services.fields as typeof accord.services.fields & { membersCurrent(): Promise<void> }).membersCurrent();
	const records = accord.services.records as typeof accord.services.records & { insert(record: NewRecord): Promise<string> };
	const ws = running.url.replace(/^http/, 'ws');
	const store = options.databaseUrl ? 'Postgres' : 'PGlite';
	const audit = config.audit;
	serve(
		{
			httpUrl: running.url,
			yUrl: `${ws}/y`,
			syncUrl: `${ws}/sync`,
			token,
			adminToken,
			audit,
			description: `Accord (${store}${options.redisUrl ? ' + Redis' : options.env?.REDIS_CLUSTER_URLS ? ' + Redis Cluster' : ''}; API-token auth on every socket; every update stored; audit log ${audit ? 'on' : 'off'})`
		},
		{
			async seed(batch) {
				// Accord's own insert path (one transaction per record), a few at a time.
				const ids: string[] = new Array(batch.length);
				let next = 0;
				await Promise.all(
					Array.from({ length: 8 }, async () => {
						while (next < batch.length) {
							const index = next++;
							ids[index] = await records.insert(batch[index]);
						}
					})
				);
				return ids;
			},
			async stats() {
				const health = await accord.services.health();
				return { documentsLoaded: health.documentsLoaded, connections: health.connections, pendingWrites: accord.rooms.writer.pendingCount, storedUpdates: accord.rooms.writer.storedCount };
			},
			async stop() {
				await running.close();
				if (dataDir) rmSync(dataDir, { recursive: true, force: true });
			}
		}
	);
} catch (error) {
	if (dataDir) rmSync(dataDir, { recursive: true, force: true });
	fail(error);
}
