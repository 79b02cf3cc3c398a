/**
 * The control channel of a server under test. Each server runs in its own process
 * (forked by bench/lib/server-process.ts) and answers a few commands over IPC: seed
 * records, force a garbage collection, report memory, stop. Load never travels here;
 * it arrives over real WebSockets from the client workers.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import * as Y from 'yjs';
import { demoRecords } from '../../server/seed/demo-data.ts';
import { writeNewRecord, type NewRecord } from '../../src/lib/model/record.ts';
import { runtimeSample } from './runtime.ts';

export interface ServerInfo {
	/** The y-websocket base URL: `new WebsocketProvider(yUrl, recordId, doc)`. */
	yUrl?: string;
	/** Accord's multiplexed endpoint. */
	syncUrl?: string;
	/** The Hocuspocus endpoint. */
	hocusUrl?: string;
	/** The HTTP origin. */
	httpUrl: string;
	/** An API token clients pass as `?token=` (Accord only). */
	token?: string;
	/** An admin API token, for what editors may not do (a backup through the server); Accord only. */
	adminToken?: string;
	/** What runs, for the table. */
	description: string;
	/** Accord: whether this build has the audit log (entries written with every stored update). */
	audit?: boolean;
}

export type Command =
	| { cmd: 'seed'; count: number; offset?: number }
	| { cmd: 'gc' }
	| { cmd: 'stats' }
	| { cmd: 'runtime'; gc?: boolean }
	| { cmd: 'profileStart' }
	| { cmd: 'profileStop'; file: string }
	| { cmd: 'heapSnapshot'; file: string }
	| { cmd: 'stop' };

export interface Handlers {
	/** Creates `count` records (the demo generator's, deterministic) and returns their ids. */
	seed(records: NewRecord[]): Promise<string[]>;
	/** Server-specific numbers: loaded documents, connections. */
	stats?(): Promise<Record<string, number>> | Record<string, number>;
	stop(): Promise<void>;
}

const WORKSPACE = 'demo';

/** The records of a seed, by position: the same content on every server. */
export function benchRecords(count: number, offset = 0): NewRecord[] {
	// The generator is deterministic; a later slice of a longer run gives new records.
	return demoRecords({ workspace: WORKSPACE, count: offset + count, now: new Date('2026-01-05T00:00:00Z') }).slice(offset);
}

/** A record as one Yjs update, built with the model's own writer. */
export function recordUpdate(record: NewRecord): Uint8Array {
	const doc = new Y.Doc();
	writeNewRecord(doc, record);
	const update = Y.encodeStateAsUpdate(doc);
	doc.destroy();
	return update;
}

let profiler: Session | null = null;

/** Wires the IPC commands to a server's handlers and says it is ready. */
export function serve(info: ServerInfo, handlers: Handlers): void {
	process.on('message', (message: { id: number } & Command) => {
		void (async () => {
			try {
				let result: unknown = null;
				switch (message.cmd) {
					case 'seed':
						result = await handlers.seed(benchRecords(message.count, message.offset));
						break;
					case 'gc':
						for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
						result = process.memoryUsage();
						break;
					case 'stats':
						result = { memory: process.memoryUsage(), cpu: process.cpuUsage(), ...(await handlers.stats?.()) };
						break;
					case 'runtime':
						result = runtimeSample(message.gc);
						break;
					case 'profileStart':
						// The V8 sampling profiler (what --cpu-prof uses), for the measured window only.
						profiler = new Session();
						profiler.connect();
						await profiler.post('Profiler.enable');
						await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
						await profiler.post('Profiler.start');
						break;
					case 'profileStop': {
						if (!profiler) break;
						const { profile } = await profiler.post('Profiler.stop');
						writeFileSync(message.file, JSON.stringify(profile));
						profiler.disconnect();
						profiler = null;
						result = message.file;
						break;
					}
					case 'heapSnapshot':
						// After a full collection, so it holds what is still referenced (bench/heap-diff.ts compares two).
						for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
						result = writeHeapSnapshot(message.file);
						break;
					case 'stop':
						await handlers.stop();
						process.send?.({ id: message.id, ok: true, result: null }, () => process.exit(0));
						return;
				}
				process.send?.({ id: message.id, ok: true, result });
			} catch (error) {
				process.send?.({ id: message.id, ok: false, error: (error as Error).stack ?? String(error) });
			}
		})();
	});
	process.send?.({ ready: true, info });
}

export function fail(error: unknown): never {
	process.send?.({ ready: false, error: (error as Error).stack ?? String(error) });
	console.error(error);
	process.exit(1);
}
