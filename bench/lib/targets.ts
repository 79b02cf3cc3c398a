/**
 * A server under test, ready for clients: its process, the client dialect that speaks
 * to it, and where. Accord on Postgres gets a fresh database, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Dialect } from '../workers/clients.ts';
import { ServerProcess, type ServerKind } from './server-process.ts';

export interface Context {
	quick: boolean;
	mode: 'quick' | 'full';
	servers: ServerKind[];
	/** The servers were chosen on the command line (quick mode then runs them all, everywhere). */
	serversChosen: boolean;
	postgresUrl: string;
	redisUrl: string;
	/** --cluster: the two-instance scenario also runs on a Redis Cluster (sharded pub/sub) it starts itself. */
	cluster?: boolean;
	/** Directory for CPU profiles of the servers' measured team windows (--profile), or null. */
	profileDir: string | null;
	log(message: string): void;
}

export interface Target {
	kind: ServerKind;
	server: ServerProcess;
	dialect: Dialect;
	url: string;
	token?: string;
	/** Accord on Postgres: the database it uses. */
	databaseUrl?: string;
	stop(): Promise<void>;
}

export async function freshDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
	const name = `accord_bench_${randomBytes(6).toString('hex')}`;
	await onServer(serverUrl, `CREATE DATABASE "${name}"`);
	const url = new URL(serverUrl);
	url.pathname = `/${name}`;
	return { url: url.toString(), drop: () => onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

async function onServer(serverUrl: string, statement: string): Promise<void> {
	const client = new pg.Client({ connectionString: serverUrl });
	await client.connect();
	try {
		await client.query(statement);
	} finally {
		await client.end();
	}
}

export interface TargetOptions {
	/** Share this database instead of making one (two instances of one deployment). */
	databaseUrl?: string;
	env?: Record<string, string>;
	/** REDIS_CLUSTER_URLS for Accord on Postgres: the bus on a Redis Cluster instead of ctx.redisUrl. */
	redisClusterUrls?: string;
}

export async function startTarget(ctx: Context, kind: ServerKind, options: TargetOptions = {}): Promise<Target> {
	const database = kind === 'accord-pg' && !options.databaseUrl ? await freshDatabase(ctx.postgresUrl) : null;
	let server: ServerProcess;
	try {
		server = await ServerProcess.start(kind, {
			databaseUrl: kind === 'accord-pg' ? (options.databaseUrl ?? database!.url) : undefined,
			redisUrl: kind === 'accord-pg' && !options.redisClusterUrls ? ctx.redisUrl : undefined,
			env: options.redisClusterUrls ? { ...options.env, REDIS_CLUSTER_URLS: options.redisClusterUrls } : options.env
		});
	} catch (error) {
		await database?.drop();
		throw error;
	}
	const { info } = server;
	return {
		kind,
		server,
		dialect: kind === 'hocuspocus' ? 'hocus' : 'y',
		url: kind === 'hocuspocus' ? info.hocusUrl! : info.yUrl!,
		token: info.token,
		databaseUrl: kind === 'accord-pg' ? (options.databaseUrl ?? database!.url) : undefined,
		async stop() {
			await server.stop();
			await database?.drop();
		}
	};
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Interleaving: odd rounds run the servers in reverse order, so no server always goes first. */
export function roundOrder<T>(items: T[], round: number): T[] {
	return round % 2 === 0 ? [...items] : [...items].reverse();
}
