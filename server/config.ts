/**
 * Configuration, read once from the environment. Every variable is documented in the README.
 */
import path from 'node:path';
import { isRole, type Role } from '../src/lib/access.ts';
import { DEFAULT_SYNC_LIMITS, type SyncLimits } from './sync/limits.ts';
import { TAKE_OVER_AFTER_MS } from './sync/unconfirmed.ts';
import { parseDataKeys, readDataKeys, type DataKeyRing } from './crypto/data-key.ts';

export interface AccordConfig {
	port: number;
	host: string;
	dataDir: string;
	databaseUrl?: string;
	/** Connections each instance keeps to Postgres at most (not used with PGlite, which has one). */
	databasePoolSize: number;
	redisUrl?: string;
	/** Nodes of a Redis Cluster (REDIS_CLUSTER_URLS), instead of one Redis: the bus uses sharded pub/sub, a workspace's channels in one slot. */
	redisClusterUrls?: string[];
	/** Workspace created (with demo records) on a first start. */
	defaultWorkspace: string;
	/** Seed demo records into an empty default workspace. */
	seedDemo: boolean;
	demoRecordCount: number;
	/** Milliseconds a document stays loaded after its last connection leaves. */
	idleUnloadMs: number;
	/** Group commit window for update persistence. */
	commitDelayMs: number;
	/** With other instances: how long an update published by another one, and that instance silent, wait before this one stores it. */
	takeOverAfterMs: number;
	/** Updates after which a document's log is compacted into a snapshot. */
	compactAfter: number;
	/** Attribute changes and write the audit log; off only where the log is not wanted (and to measure its cost). */
	audit: boolean;
	/** Where sealing appends checkpoints of the audit chain (ACCORD_AUDIT_ANCHOR_FILE); unset: `<dataDir>/audit-anchors.jsonl`. */
	auditAnchorFile?: string;
	/** Signs each checkpoint with HMAC-SHA256 when set (ACCORD_AUDIT_ANCHOR_KEY). */
	auditAnchorKey?: string;
	/** Largest WebSocket message accepted, in bytes. */
	maxMessageBytes: number;
	/** Bounds on presence, queues and buffers per socket and document (server/sync/limits.ts). */
	limits: SyncLimits;
	logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
	/** The address people reach Accord at; the OIDC redirect URI and cookie security derive from it. */
	publicUrl?: string;
	/** Trust X-Forwarded-Proto from a reverse proxy in front of Accord. */
	trustProxy: boolean;
	oidc: OidcConfig;
	sessionTtlMs: number;
	production: boolean;
	/** Run the development identity provider even in production (ACCORD_DEV_IDP=1). */
	allowDevIdp: boolean;
	/** Scheduled backups (server/backup): where they go (ACCORD_BACKUP_DIR; unset: none), how often, how many are kept. */
	backupDir?: string;
	backupEveryMs: number;
	backupKeep: number;
	/** Encrypts backups with AES-256-GCM (the newest key) and reads them (the key a backup names): ACCORD_BACKUP_KEY, else the data keys. */
	backupKeys: DataKeyRing | null;
	/** Encryption at rest (server/crypto/data-key.ts): ACCORD_DATA_KEY or ACCORD_DATA_KEY_FILE; null: values are stored plain (refused in production). */
	dataKeys: DataKeyRing | null;
}

export interface OidcConfig {
	/** Absent: the built-in development identity provider is used. */
	issuer?: string;
	clientId: string;
	clientSecret?: string;
	scopes: string;
	/** Claim holding group names, mapped to roles by `roleMap`. */
	roleClaim: string;
	roleMap: ReadonlyMap<string, Role>;
}

/** `accord-admins=admin,sales=editor` → Map. */
export function parseRoleMap(text: string): Map<string, Role> {
	const map = new Map<string, Role>();
	for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
		const [group, role] = pair.split('=').map((p) => p.trim());
		if (!group || !isRole(role)) throw new Error(`OIDC_ROLE_MAP entries must look like group=admin|editor|viewer; "${pair}" does not.`);
		map.set(group, role);
	}
	return map;
}

function integer(name: string, value: string | undefined, fallback: number, least = 0): number {
	if (value === undefined || value === '') return fallback;
	const parsed = Number(value);
	if (!Number.isInteger(parsed) || parsed < least) throw new Error(`${name} must be a whole number of ${least === 0 ? 'zero' : least} or more, not "${value}".`);
	return parsed;
}

function flag(name: string, value: string | undefined, fallback: boolean): boolean {
	if (value === undefined || value === '') return fallback;
	if (value === '1') return true;
	if (value === '0') return false;
	throw new Error(`${name} must be 1 (on) or 0 (off), not "${value}".`);
}

/** `90s`, `30m`, `6h`, `1d` → milliseconds. */
export function parseDuration(name: string, value: string | undefined, fallbackMs: number): number {
	if (value === undefined || value === '') return fallbackMs;
	const match = /^(\d{1,6})\s*(s|m|h|d)$/.exec(value.trim());
	const ms = match ? Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'] : 0;
	if (ms < 1_000) throw new Error(`${name} must be a duration such as 30m, 6h or 1d (a number and s, m, h or d), not "${value}".`);
	return ms;
}

function publicUrl(value: string | undefined): string | undefined {
	if (!value) return undefined;
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		throw new Error(`PUBLIC_URL must be an absolute http(s) address such as https://crm.example.com, not "${value}".`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`PUBLIC_URL must start with http:// or https://, not "${value}".`);
	return url.origin;
}

/** REDIS_CLUSTER_URLS: comma-separated redis:// or rediss:// addresses of some of the cluster's nodes (any one that answers is enough). */
function redisClusterUrls(value: string | undefined, redisUrl: string | undefined): string[] | undefined {
	if (!value?.trim()) return undefined;
	if (redisUrl) throw new Error('Set REDIS_URL (one Redis) or REDIS_CLUSTER_URLS (a Redis Cluster), not both.');
	const urls = value.split(',').map((part) => part.trim()).filter(Boolean);
	for (const url of urls) {
		let parsed: URL | undefined;
		try {
			parsed = new URL(url);
		} catch {
			parsed = undefined;
		}
		if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || !parsed.port) {
			throw new Error(`REDIS_CLUSTER_URLS must list cluster nodes as redis://host:port, separated by commas, not "${url}".`);
		}
	}
	return urls;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AccordConfig> = {}): AccordConfig {
	const logLevel = env.LOG_LEVEL ?? 'info';
	const dataKeys = readDataKeys(env);
	if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
		throw new Error(`LOG_LEVEL must be one of debug, info, warn, error, silent, not "${logLevel}".`);
	}
	return {
		port: integer('PORT', env.PORT, 3000),
		host: env.HOST || '0.0.0.0',
		dataDir: path.resolve(env.DATA_DIR || './data'),
		databaseUrl: env.DATABASE_URL || undefined,
		databasePoolSize: integer('DATABASE_POOL_SIZE', env.DATABASE_POOL_SIZE, 10, 1),
		redisUrl: env.REDIS_URL || undefined,
		redisClusterUrls: redisClusterUrls(env.REDIS_CLUSTER_URLS, env.REDIS_URL),
		defaultWorkspace: env.ACCORD_WORKSPACE || 'demo',
		seedDemo: env.ACCORD_SEED_DEMO !== '0',
		demoRecordCount: integer('ACCORD_DEMO_RECORDS', env.ACCORD_DEMO_RECORDS, 200),
		idleUnloadMs: integer('ACCORD_IDLE_UNLOAD_MS', env.ACCORD_IDLE_UNLOAD_MS, 30_000),
		commitDelayMs: integer('ACCORD_COMMIT_DELAY_MS', env.ACCORD_COMMIT_DELAY_MS, 5),
		takeOverAfterMs: integer('ACCORD_TAKE_OVER_MS', env.ACCORD_TAKE_OVER_MS, TAKE_OVER_AFTER_MS, 100),
		compactAfter: integer('ACCORD_COMPACT_AFTER', env.ACCORD_COMPACT_AFTER, 500),
		audit: flag('ACCORD_AUDIT', env.ACCORD_AUDIT, true),
		auditAnchorFile: env.ACCORD_AUDIT_ANCHOR_FILE ? path.resolve(env.ACCORD_AUDIT_ANCHOR_FILE) : undefined,
		auditAnchorKey: env.ACCORD_AUDIT_ANCHOR_KEY || undefined,
		maxMessageBytes: integer('ACCORD_MAX_MESSAGE_BYTES', env.ACCORD_MAX_MESSAGE_BYTES, 1024 * 1024),
		limits: {
			maxPresenceBytes: integer('ACCORD_MAX_PRESENCE_BYTES', env.ACCORD_MAX_PRESENCE_BYTES, DEFAULT_SYNC_LIMITS.maxPresenceBytes, 256),
			maxPresencePerConnection: integer('ACCORD_MAX_PRESENCE_PER_CONNECTION', env.ACCORD_MAX_PRESENCE_PER_CONNECTION, DEFAULT_SYNC_LIMITS.maxPresencePerConnection, 1),
			maxPresencePerDocument: integer('ACCORD_MAX_PRESENCE_PER_DOCUMENT', env.ACCORD_MAX_PRESENCE_PER_DOCUMENT, DEFAULT_SYNC_LIMITS.maxPresencePerDocument, 1),
			maxOutgoingBytes: integer('ACCORD_MAX_OUTGOING_BYTES', env.ACCORD_MAX_OUTGOING_BYTES, DEFAULT_SYNC_LIMITS.maxOutgoingBytes, 64 * 1024),
			awarenessQueryIntervalMs: integer('ACCORD_AWARENESS_QUERY_INTERVAL_MS', env.ACCORD_AWARENESS_QUERY_INTERVAL_MS, DEFAULT_SYNC_LIMITS.awarenessQueryIntervalMs),
			maxQueuedMessages: integer('ACCORD_MAX_QUEUED_MESSAGES', env.ACCORD_MAX_QUEUED_MESSAGES, DEFAULT_SYNC_LIMITS.maxQueuedMessages, 1),
			maxPendingWrites: integer('ACCORD_MAX_PENDING_WRITES', env.ACCORD_MAX_PENDING_WRITES, DEFAULT_SYNC_LIMITS.maxPendingWrites, 0),
			pingIntervalMs: integer('ACCORD_PING_INTERVAL_MS', env.ACCORD_PING_INTERVAL_MS, DEFAULT_SYNC_LIMITS.pingIntervalMs, 100)
		},
		logLevel: logLevel as AccordConfig['logLevel'],
		publicUrl: publicUrl(env.PUBLIC_URL),
		trustProxy: env.TRUST_PROXY === '1',
		oidc: {
			issuer: env.OIDC_ISSUER || undefined,
			clientId: env.OIDC_CLIENT_ID || 'accord',
			clientSecret: env.OIDC_CLIENT_SECRET || undefined,
			scopes: env.OIDC_SCOPES || 'openid profile email groups',
			roleClaim: env.OIDC_ROLE_CLAIM || 'groups',
			roleMap: parseRoleMap(env.OIDC_ROLE_MAP ?? 'accord-admins=admin,accord-editors=editor,accord-viewers=viewer')
		},
		sessionTtlMs: integer('ACCORD_SESSION_HOURS', env.ACCORD_SESSION_HOURS, 12) * 3_600_000,
		production: env.NODE_ENV === 'production',
		allowDevIdp: env.ACCORD_DEV_IDP === '1',
		backupDir: env.ACCORD_BACKUP_DIR ? path.resolve(env.ACCORD_BACKUP_DIR) : undefined,
		backupEveryMs: parseDuration('ACCORD_BACKUP_EVERY', env.ACCORD_BACKUP_EVERY, 86_400_000),
		backupKeep: integer('ACCORD_BACKUP_KEEP', env.ACCORD_BACKUP_KEEP, 7, 1),
		backupKeys: env.ACCORD_BACKUP_KEY?.trim() ? parseDataKeys(env.ACCORD_BACKUP_KEY, 'ACCORD_BACKUP_KEY') : dataKeys,
		dataKeys,
		...overrides
	};
}
