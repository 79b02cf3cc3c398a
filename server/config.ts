/**
 * Configuration, read once from the environment. Every variable is documented in the README.
 */
import path from 'node:path';

export interface AccordConfig {
	port: number;
	host: string;
	dataDir: string;
	databaseUrl?: string;
	redisUrl?: string;
	/** Workspace created (with demo records) on a first start. */
	defaultWorkspace: string;
	/** Seed demo records into an empty default workspace. */
	seedDemo: boolean;
	demoRecordCount: number;
	/** Milliseconds a document stays loaded after its last connection leaves. */
	idleUnloadMs: number;
	/** Group commit window for update persistence. */
	commitDelayMs: number;
	/** Updates after which a document's log is compacted into a snapshot. */
	compactAfter: number;
	/** Largest WebSocket message accepted, in bytes. */
	maxMessageBytes: number;
	logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

function integer(name: string, value: string | undefined, fallback: number): number {
	if (value === undefined || value === '') return fallback;
	const parsed = Number(value);
	if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${name} must be a whole number of zero or more, not "${value}".`);
	return parsed;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AccordConfig> = {}): AccordConfig {
	const logLevel = env.LOG_LEVEL ?? 'info';
	if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
		throw new Error(`LOG_LEVEL must be one of debug, info, warn, error, silent, not "${logLevel}".`);
	}
	return {
		port: integer('PORT', env.PORT, 3000),
		host: env.HOST || '0.0.0.0',
		dataDir: path.resolve(env.DATA_DIR || './data'),
		databaseUrl: env.DATABASE_URL || undefined,
		redisUrl: env.REDIS_URL || undefined,
		defaultWorkspace: env.ACCORD_WORKSPACE || 'demo',
		seedDemo: env.ACCORD_SEED_DEMO !== '0',
		demoRecordCount: integer('ACCORD_DEMO_RECORDS', env.ACCORD_DEMO_RECORDS, 200),
		idleUnloadMs: integer('ACCORD_IDLE_UNLOAD_MS', env.ACCORD_IDLE_UNLOAD_MS, 30_000),
		commitDelayMs: integer('ACCORD_COMMIT_DELAY_MS', env.ACCORD_COMMIT_DELAY_MS, 5),
		compactAfter: integer('ACCORD_COMPACT_AFTER', env.ACCORD_COMPACT_AFTER, 500),
		maxMessageBytes: integer('ACCORD_MAX_MESSAGE_BYTES', env.ACCORD_MAX_MESSAGE_BYTES, 1024 * 1024),
		logLevel: logLevel as AccordConfig['logLevel'],
		...overrides
	};
}
