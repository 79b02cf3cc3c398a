/**
 * Assembles one Accord instance: store, bus, rooms, services, and the WebSocket
 * endpoints. Used by the production entry (server/main.ts) and by `vite dev` alike,
 * so both run the same sync server.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { isRecordId } from '../src/lib/model/record.ts';
import { DEMO_PEOPLE, type Person } from '../src/lib/people.ts';
import { provideServices, type AccordServices, type Health } from '../src/lib/server/services.ts';
import type { AccordConfig } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { MemoryBus } from './bus/memory.ts';
import { RedisBus } from './bus/redis.ts';
import type { Bus } from './bus/types.ts';
import { openStore } from './store/index.ts';
import type { DocumentStore } from './store/types.ts';
import { Rooms } from './sync/rooms.ts';
import { Connection } from './sync/connection.ts';
import { createRecordService } from './records.ts';
import { seedDemoWorkspace } from './seed/seed.ts';

export interface Accord {
	readonly config: AccordConfig;
	readonly log: Logger;
	readonly store: DocumentStore;
	readonly bus: Bus;
	readonly rooms: Rooms;
	readonly services: AccordServices;
	/** Takes over `/sync` and `/y/<id>` upgrades; returns false for any other path. */
	handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
	close(): Promise<void>;
}

const PERSON_COOKIE = 'accord_person';

function cookie(request: IncomingMessage, name: string): string | undefined {
	for (const part of (request.headers.cookie ?? '').split(';')) {
		const [key, ...rest] = part.trim().split('=');
		if (key === name) return decodeURIComponent(rest.join('='));
	}
	return undefined;
}

export async function createAccord(config: AccordConfig, log: Logger = createLogger(config.logLevel)): Promise<Accord> {
	const started = Date.now();
	const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
	const bus: Bus = config.redisUrl ? await RedisBus.connect(config.redisUrl, log) : new MemoryBus();
	const workspaces = new Set([config.defaultWorkspace]);
	const rooms = new Rooms({
		store,
		bus,
		log,
		idleUnloadMs: config.idleUnloadMs,
		commitDelayMs: config.commitDelayMs,
		compactAfter: config.compactAfter,
		isWorkspace: (id) => workspaces.has(id)
	});
	const records = createRecordService(store, rooms);
	if (config.seedDemo) {
		const seeded = await seedDemoWorkspace(store, records, config.defaultWorkspace, config.demoRecordCount);
		if (seeded > 0) log.info('seeded the demo workspace', { workspace: config.defaultWorkspace, records: seeded });
	}

	const connections = new Set<Connection>();
	const people: readonly Person[] = DEMO_PEOPLE;
	const services: AccordServices = {
		records,
		defaultWorkspace: config.defaultWorkspace,
		people,
		async health(): Promise<Health> {
			let storeOk = true;
			try {
				await store.countDocuments(config.defaultWorkspace);
			} catch {
				storeOk = false;
			}
			return {
				status: storeOk && bus.healthy && !rooms.writer.failing ? 'ok' : 'degraded',
				store: store.kind,
				bus: bus.kind,
				documentsLoaded: rooms.loadedCount,
				connections: connections.size,
				uptimeSeconds: Math.round((Date.now() - started) / 1000)
			};
		}
	};
	provideServices(services);

	const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes, perMessageDeflate: false });

	function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
		const url = new URL(request.url ?? '/', 'http://localhost');
		let documentName: string | undefined;
		if (url.pathname === '/sync') documentName = undefined;
		else if (url.pathname.startsWith('/y/')) documentName = decodeURIComponent(url.pathname.slice(3));
		else return false;
		if (documentName !== undefined && !isRecordId(documentName)) {
			socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"${documentName}" is not a record id.\n`);
			return true;
		}
		const personId = cookie(request, PERSON_COOKIE);
		const person = people.find((p) => p.id === personId) ?? null;
		wss.handleUpgrade(request, socket, head, (ws) => {
			const connection: Connection = new Connection(ws, {
				rooms,
				log,
				person,
				workspace: config.defaultWorkspace,
				documentName,
				onClose: () => connections.delete(connection)
			});
			connections.add(connection);
		});
		return true;
	}

	return {
		config,
		log,
		store,
		bus,
		rooms,
		services,
		handleUpgrade,
		async close() {
			for (const connection of connections) connection.close(1001, 'The server is shutting down.');
			wss.close();
			await rooms.close();
			await bus.close();
			await store.close();
		}
	};
}
