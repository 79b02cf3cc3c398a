/**
 * Assembles one Accord instance: database, bus, rooms, identity, services, and the
 * WebSocket endpoints (server/sync/socket-server.ts). Used by the production entry
 * (server/http.ts) and by `vite dev` alike, so both run the same server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { canSeeRecord, type Actor } from '../src/lib/access.ts';
import { WORKSPACE_CHANNEL_PREFIX } from '../src/lib/protocol/index.ts';
import { ForbiddenError, provideServices, type AccordServices, type Authenticated, type Health } from '../src/lib/server/services.ts';
import type { AccordConfig } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { MemoryBus } from './bus/memory.ts';
import { RedisBus } from './bus/redis.ts';
import type { Bus } from './bus/types.ts';
import { openDatabase, type Database } from './database.ts';
import { Rooms } from './sync/rooms.ts';
import type { Connection } from './sync/connection.ts';
import { SocketServer } from './sync/socket-server.ts';
import { onTaskError } from './sync/outbox.ts';
import { createCatchUp } from './sync/catch-up.ts';
import { createFromSync } from './sync/create-from-sync.ts';
import { createRecordService } from './records.ts';
import { createAdminService } from './admin.ts';
import { createFieldsService } from './fields.ts';
import { createMergeService } from './merge.ts';
import { createAnalyticsService } from './analytics.ts';
import { createAnalyticsStore } from './analytics-store.ts';
import { createViewsService } from './views.ts';
import { seedDemoWorkspace } from './seed/seed.ts';
import { createAuthService, DEV_ISSUER_ID, roleFromClaims } from './auth/auth-service.ts';
import { createDevIdp, DEV_USERS } from './auth/dev-idp.ts';
import { createOidcClient } from './auth/oidc-client.ts';
import { SESSION_COOKIE } from './auth/credentials.ts';
import { createAuditService } from './audit/service.ts';
import { createExportService } from './export/service.ts';
import { createImportService } from './import/service.ts';
import { handleImportHttp, importMaxBytes } from './import/http.ts';
import { createImportJobs } from './import/jobs.ts';
import { createExternalIdLookup } from './import/external-ids.ts';
import { createJobStore } from './import/job-store.ts';
import { AuditSealer } from './audit/sealer.ts';
import { createBackupService } from './backup/service.ts';
import { backupWriteKey } from './backup/format.ts';
import { installDataKeys } from './crypto/data-key.ts';
import { describeCensus } from './crypto/stored-keys.ts';
import { startBackgroundRotation } from './keys/rotate.ts';
import { storedSubjectSources, subjectExport, subjectExportFilename } from './subject.ts';
import { eraseRecords } from './erase.ts';
import { withoutAudit, withoutNewEntries } from './audit/unaudited-store.ts';

export interface Accord {
	readonly config: AccordConfig & { publicUrl: string };
	readonly log: Logger;
	readonly database: Database;
	readonly bus: Bus;
	readonly rooms: Rooms;
	readonly services: AccordServices;
	/** Serves what is not SvelteKit's: `/healthz` and the development identity provider. Returns false for anything else. */
	handleHttp(request: IncomingMessage, response: ServerResponse): boolean;
	/** Takes over `/sync` and `/y/<id>` upgrades; returns false for any other path. */
	handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
	close(): Promise<void>;
}

export { SESSION_COOKIE };

const DEV_IDP_PATH = '/idp';
const DEV_CLIENT_ID = 'accord-dev';
export async function createAccord(config: AccordConfig & { publicUrl: string }, log: Logger = createLogger(config.logLevel)): Promise<Accord> {
	const started = Date.now();
	const development = !config.oidc.issuer;
	if (development && config.production && !config.allowDevIdp) {
		throw new Error(
			'NODE_ENV is production but no identity provider is configured. Set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET ' +
				'(see the README), or set ACCORD_DEV_IDP=1 to run the development sign-in with demo users anyway.'
		);
	}
	if (!config.dataKeys && config.production) {
		throw new Error(
			'NODE_ENV is production but no data key is configured: customer records would be stored unencrypted. ' +
				'Set ACCORD_DATA_KEY (or ACCORD_DATA_KEY_FILE) to a key from `npm run accord -- keys new` (see "Encryption at rest" in the README).'
		);
	}
	if (!config.dataKeys) log.warn('no data key (ACCORD_DATA_KEY): records and their history are stored unencrypted (development mode; refused when NODE_ENV=production)');
	installDataKeys(config.dataKeys);
	const workspace = config.defaultWorkspace;
	onTaskError((error) => log.error('a task at the end of a turn failed', { error: error.message, stack: error.stack }));
	const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize });
	if (config.dataKeys) log.info(`encryption at rest: new values under data key ${config.dataKeys.newest.id}`, { stored: describeCensus(database.keys, config.dataKeys) });
	// Values under older keys (or plain from before a key was set): the embedded database serves this process
	// alone, so it re-encrypts them while serving; on Postgres `keys rotate` does, once, beside every instance.
	const rotation = startBackgroundRotation(database.sql, database.keys, log, database.kind === 'pglite');
	const { auth: authStore } = database;
	const store = config.audit ? database.documents : withoutAudit(database.documents);
	if (!config.audit) log.warn('the audit log is off (ACCORD_AUDIT=0): changes are stored but not attributed or recorded');
	const bus: Bus = config.redisClusterUrls
		? await RedisBus.connect({ kind: 'cluster', urls: config.redisClusterUrls, workspace }, log)
		: config.redisUrl
			? await RedisBus.connect({ kind: 'single', url: config.redisUrl }, log)
			: new MemoryBus();
	await store.ensureWorkspace(workspace, workspace);

	const rooms = new Rooms({
		store,
		bus,
		log,
		idleUnloadMs: config.idleUnloadMs,
		commitDelayMs: config.commitDelayMs,
		takeOverAfterMs: config.takeOverAfterMs,
		compactAfter: config.compactAfter,
		audit: config.audit,
		isWorkspace: (id) => id === workspace,
		limits: config.limits,
		// The live path validates record values against the workspace's current definitions.
		definitions: (id) => (id === workspace ? fields.catalog() : undefined)
	});
	// Person fields (the owner among them) name members: the fields service follows the membership table.
	const fields = createFieldsService({
		store,
		rooms,
		workspace,
		log,
		// An API token acts as a person of its own (`token:<id>`): an integration may own the
		// records it creates, private ones too, as long as the token is not revoked.
		memberIds: async () => {
			const [members, tokens] = await Promise.all([authStore.listMembers(workspace), authStore.listApiTokens(workspace)]);
			return [...members.map(({ user }) => user.id), ...tokens.filter((token) => token.revokedAt === null).map((token) => `token:${token.id}`)];
		}
	});

	// The WebSocket endpoints (made below, once what they need exists): what ends someone's access reaches their open sockets.
	function closeWhere(match: (connection: Connection) => boolean, reason: string): void {
		sockets.closeWhere(match, reason);
	}

	// Identity: the configured provider, or the development one mounted under /idp.
	const callback = new URL('/auth/callback', config.publicUrl).href;
	const signedOut = new URL('/auth/signed-out', config.publicUrl).href;
	const devIssuer = development ? `${config.publicUrl}${DEV_IDP_PATH}` : undefined;
	const devClientSecret = randomBytes(24).toString('base64url');
	const devIdp = devIssuer
		? createDevIdp({ issuer: devIssuer, clientId: DEV_CLIENT_ID, clientSecret: devClientSecret, redirectUris: [callback], postLogoutRedirectUris: [signedOut] })
		: null;
	if (devIdp) log.warn(`development sign-in is on (demo users at ${devIssuer}); set OIDC_ISSUER to use your identity provider`);

	const auth = createAuthService({
		store: authStore,
		workspace,
		oidc: config.oidc,
		devIssuer,
		sessionTtlMs: config.sessionTtlMs,
		log,
		onSessionEnded: (hash) => closeWhere((c) => c.auth.sessionHash === hash, 'You signed out.'),
		connect: () =>
			createOidcClient({
				issuer: devIssuer ?? config.oidc.issuer!,
				clientId: devIssuer ? DEV_CLIENT_ID : config.oidc.clientId,
				clientSecret: devIssuer ? devClientSecret : config.oidc.clientSecret,
				redirectUri: callback,
				postLogoutRedirectUri: signedOut,
				scopes: config.oidc.scopes
			})
	});

	const backups = createBackupService({
		sql: database.sql,
		key: backupWriteKey(config.backupKeys),
		log,
		schedule: config.backupDir ? { dir: config.backupDir, everyMs: config.backupEveryMs, keep: config.backupKeep } : undefined
	});
	await backups.start();

	// Audit entries are staged with their updates; this seals them into the hash chain.
	const sealer = new AuditSealer(database.audit, log, { anchors: config });
	// Runs with the log off too: entries staged before it was turned off still get sealed.
	sealer.start();

	const records = createRecordService({
		store,
		auth: authStore,
		audit: config.audit ? database.audit : withoutNewEntries(database.audit),
		rooms,
		workspace,
		onRecordHidden: (id, canSee) => {
			for (const connection of sockets.connections) if (!canSee(connection.actor)) connection.evict(id);
		},
		definitions: () => fields.catalog(),
		membersCurrent: () => fields.membersCurrent(),
		sawFields: (values) => fields.sawFields(values)
	});

	if (devIssuer) {
		// The demo team exists before anyone signs in, so owners and avatars have names.
		for (const user of DEV_USERS) {
			await authStore.upsertUser({ issuer: DEV_ISSUER_ID, subject: user.id, id: user.id, name: user.name, email: user.email, signingIn: false });
			const role = roleFromClaims({ groups: user.groups }, 'groups', config.oidc.roleMap) ?? (await authStore.defaultRole(workspace));
			if (!(await authStore.membership(workspace, user.id))) await authStore.setMembership(workspace, user.id, role, null);
		}
	}
	if (config.seedDemo) {
		const seeded = await seedDemoWorkspace(store, records, workspace, config.demoRecordCount);
		if (seeded > 0) log.info('seeded the demo workspace', { workspace, records: seeded });
	}
	// After seeding, which seeds only a workspace without documents (the definitions document is one).
	await fields.start();

	const merges = createMergeService({
		merges: database.merges,
		auth: authStore,
		rooms,
		workspace,
		audit: config.audit,
		stageAudit: (drafts) => database.audit.stage(drafts),
		// A merge's kept values are checked as every write is: against the live definitions and members.
		definitions: () => fields.catalog()
	});
	const imports = createImportService({
		workspace,
		store,
		announce: (ws, id) => rooms.announceRecordChanged(ws, id),
		definitions: () => fields.catalog(),
		rooms,
		merges,
		externalIds: createExternalIdLookup(database.sql)
	});
	const importJobs = createImportJobs({ workspace, jobs: createJobStore(database.sql), imports, rooms, merges, log });
	await importJobs.recover();
	const services: AccordServices = {
		records,
		views: createViewsService({ sql: database.sql, store, rooms, workspace, fields: () => fields.catalog().all }),
		fields,
		exports: createExportService({ store, rooms, workspace }),
		auth,
		admin: createAdminService(authStore, workspace, {
			roleChanged: (userId, role) => {
				for (const connection of sockets.connections) if (connection.actor.id === userId) connection.setRole(role);
			},
			tokenRevoked: (tokenId) => closeWhere((c) => c.auth.tokenId === tokenId, 'This API token was revoked.')
		}),
		audit: createAuditService({ audit: database.audit, auth: authStore, rooms, workspace }),
		merges,
		analytics: createAnalyticsService({ store: createAnalyticsStore(database.sql), workspace }),
		data: {
			backup: (actor) => backups.download(actor),
			async subjectExport(actor, recordId) {
				if (actor.role !== 'admin') throw new ForbiddenError('Only admins can export everything held about a customer.');
				const sources = { ...storedSubjectSources(database, workspace), record: (id: string) => records.get(actor, id) };
				const by = { id: actor.id, name: actor.name };
				const exported = await subjectExport(sources, recordId, by);
				if (!exported) return null;
				// Handing a person's data out is itself recorded, with who did it and when, and no values.
				await database.audit.stage([
					{ workspace, recordId: exported.recordId, at: exported.exportedAt, actor: by, source: 'api', relayedBy: null, path: 'record', op: 'export', before: null, after: null, conflict: null }
				]);
				return { filename: subjectExportFilename(exported.recordId), json: JSON.stringify(exported, null, 2) };
			},
			erase(actor, ids) {
				if (actor.role !== 'admin') return Promise.reject(new ForbiddenError('Only admins can erase a customer\'s data.'));
				const deps = { erasure: database.erasure, store, workspace, discard: rooms.discard.bind(rooms) };
				return eraseRecords(deps, ids, { id: actor.id, name: actor.name }, actor.id.startsWith('token:') ? 'api' : 'ui');
			}
		},
		defaultWorkspace: workspace,
		async people() {
			return (await authStore.listMembers(workspace)).map(({ user }) => ({ id: user.id, name: user.name, email: user.email ?? '' }));
		},
		signIn: {
			provider: devIssuer ? 'Accord development sign-in' : new URL(config.oidc.issuer!).host,
			providerOrigin: new URL(devIssuer ?? config.oidc.issuer!).origin,
			development,
			secureCookies: config.publicUrl.startsWith('https:')
		},
		async health(): Promise<Health> {
			let storeOk = true;
			try {
				await store.countDocuments(workspace);
			} catch {
				storeOk = false;
			}
			return {
				status: storeOk && bus.healthy && !rooms.writer.failing ? 'ok' : 'degraded',
				store: store.kind,
				bus: bus.kind,
				documentsLoaded: rooms.loadedCount,
				connections: sockets.connections.size,
				pendingWrites: rooms.writer.pendingCount,
				uptimeSeconds: Math.round((Date.now() - started) / 1000),
				...(backups.health() ? { backup: backups.health() } : {})
			};
		}
	};
	provideServices(services);

	async function mayOpen(actor: Actor, documentName: string): Promise<boolean> {
		if (documentName.startsWith(WORKSPACE_CHANNEL_PREFIX)) return documentName === WORKSPACE_CHANNEL_PREFIX + actor.workspace;
		const access = await authStore.recordAccess(documentName);
		return access !== null && access.workspace === actor.workspace && canSeeRecord(actor, access);
	}

	// Offline clients: records created on the client arrive as `create` frames; catch-up after a gap.
	const createRecord = createFromSync({ store, announce: (ws, id) => rooms.announceRecordChanged(ws, id), definitions: () => fields.catalog() });
	const catchUp = createCatchUp(store, { erasedSince: (ws, since) => database.erasure.erasedSince(ws, since) });

	const sockets = new SocketServer({
		rooms,
		log,
		maxMessageBytes: config.maxMessageBytes,
		limits: config.limits,
		publicUrl: config.publicUrl,
		authenticate: (credentials) => auth.authenticate(credentials),
		mayOpen,
		createRecord,
		catchUp,
		liveSessions: (hashes) => authStore.liveSessions(hashes),
		liveTokenIds: (ids) => authStore.liveTokenIds(ids)
	});

	function handleHttp(request: IncomingMessage, response: ServerResponse): boolean {
		const path = (request.url ?? '/').split('?')[0];
		if (path === '/healthz') {
			void services.health().then(
				(health) => {
					response.writeHead(health.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
					response.end(JSON.stringify(health));
				},
				(error: Error) => {
					log.error('health check failed', { error: error.message });
					if (!response.headersSent) response.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
					response.end(JSON.stringify({ status: 'degraded' }));
				}
			);
			return true;
		}
		if (handleImportHttp(request, response, { auth, imports, jobs: importJobs, publicOrigin: new URL(config.publicUrl).origin, maxBytes: importMaxBytes(), log })) return true;
		if (devIdp && (path === DEV_IDP_PATH || path.startsWith(`${DEV_IDP_PATH}/`))) return devIdp.handle(request, response);
		return false;
	}

	return {
		config,
		log,
		database,
		bus,
		rooms,
		services,
		handleHttp,
		handleUpgrade: (request, socket, head) => sockets.handleUpgrade(request, socket, head),
		async close() {
			sockets.close('The server is shutting down.');
			fields.close();
			await importJobs.close();
			await rooms.close();
			await backups.close();
			await sealer.close();
			await bus.close();
			await rotation.stop();
			await database.close();
		}
	};
}
