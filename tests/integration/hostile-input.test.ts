/**
 * Untrusted input never ends the process, and never makes it hold memory without bound.
 * Against a real server process (PGlite, so it runs without Postgres):
 * - a seeded, bounded fuzz test (fast-check) of the upgrade path and of both sync
 *   endpoints' frames, checking after every case that the process still runs and, every
 *   few cases, that it still answers; the seed is logged, and ACCORD_FUZZ_SEED replays it;
 * - the presence amplification an attack found (a large presence set, a client that
 *   stops reading and asks for everyone's presence thousands of times), with the
 *   server's RSS growth held under a stated bound while it keeps answering /healthz.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import { MessageType } from '../../src/lib/protocol/index.ts';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { openDatabase } from '../../server/database.ts';
import { tempDir, type TempDir } from '../support/databases.ts';
import { ServerProcess, apiJson, createRecordVia } from '../support/processes.ts';
import { yWebsocketClient } from '../support/sync-client.ts';
import { eventually } from '../support/server.ts';
import { awarenessFrame } from '../support/frames.ts';

const SEED = Number(process.env.ACCORD_FUZZ_SEED ?? Date.now() % 2 ** 31);
/** Each property stops after this many cases or this long, whichever comes first. */
const CASES = 150;
const TIME_LIMIT_MS = 40_000;

interface Tokens {
	editor: string;
	viewer: string;
}

async function startServer(name: string, env: Record<string, string> = {}): Promise<{ server: ServerProcess; tokens: Tokens; dir: TempDir }> {
	const dir = await tempDir(`accord-${name}-`);
	// Tokens are made before the server starts: PGlite serves one process at a time.
	const setup = await openDatabase({ dataDir: dir.path });
	const editor = await setup.auth.createApiToken({ workspace: 'demo', name: 'Editor', role: 'editor', createdBy: 'test' });
	const viewer = await setup.auth.createApiToken({ workspace: 'demo', name: 'Viewer', role: 'viewer', createdBy: 'test' });
	await setup.close();
	const server = await ServerProcess.start(name, { dataDir: dir.path, env });
	return { server, tokens: { editor: editor.token, viewer: viewer.token }, dir };
}

/** Sends raw bytes as an HTTP request and resolves with what came back (or nothing) once the server is done or 2 s pass. */
function rawRequest(port: number, request: string | Buffer): Promise<string> {
	return new Promise((resolve) => {
		const socket = net.connect(port, '127.0.0.1');
		let answer = '';
		const done = () => {
			clearTimeout(timer);
			socket.destroy();
			resolve(answer);
		};
		const timer = setTimeout(done, 2_000);
		socket.on('data', (chunk) => {
			answer += chunk.toString('latin1');
			// An accepted upgrade stays open: the answer's head is all we need.
			if (answer.includes('\r\n\r\n') && answer.startsWith('HTTP/1.1 101')) done();
		});
		socket.on('end', done);
		socket.on('error', done);
		socket.write(request);
	});
}

/**
 * Opens a WebSocket, sends the frames, waits until it is closed or 300 ms pass; never rejects.
 * A raw socket, not the test client (support/sync-client.ts): the frames are fuzzed bytes no client sends.
 */
function sendFrames(url: string, frames: Uint8Array[]): Promise<void> {
	return new Promise((resolve) => {
		const socket = new WebSocket(url);
		const finish = () => {
			clearTimeout(timer);
			socket.terminate();
			resolve();
		};
		const timer = setTimeout(finish, 1_500);
		socket.on('open', () => {
			for (const frame of frames) socket.send(frame);
			setTimeout(finish, 300);
		});
		socket.on('close', finish);
		socket.on('error', finish);
	});
}

async function healthy(server: ServerProcess): Promise<boolean> {
	try {
		const response = await fetch(`${server.url}/healthz`);
		return response.status === 200;
	} catch {
		return false;
	}
}

function rssBytes(pid: number): number {
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
	return kb * 1024;
}

describe('hostile input against a real server process', () => {
	let server: ServerProcess;
	let tokens: Tokens;
	let dir: TempDir;
	let recordId: string;

	beforeAll(async () => {
		({ server, tokens, dir } = await startServer('accord-fuzz'));
		recordId = await createRecordVia(server, tokens.editor, { name: 'Fuzz Target Ltd' });
		console.log(`hostile-input: fast-check seed ${SEED} (replay with ACCORD_FUZZ_SEED=${SEED})`);
	});
	afterAll(async () => {
		await server?.kill('SIGTERM');
		await dir?.remove();
	});

	it('answers the upgrade requests an attack found, and stays up', async () => {
		for (const path of ['/y/%ZZ', '/y/%C0%AE%C0%AE', '/y/%E4%BD', `/y/${'%'.repeat(3)}`]) {
			const answer = await rawRequest(
				server.port,
				`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`
			);
			expect(answer.startsWith('HTTP/1.1 400'), `${path}: ${answer.slice(0, 80)}`).toBe(true);
			expect(answer).toContain('not valid');
		}
		expect(server.running).toBe(true);
		expect(await healthy(server)).toBe(true);
	});

	it('survives arbitrary upgrade requests (seeded, bounded)', async () => {
		const piece = fc.oneof(
			fc.constantFrom('%ZZ', '%C0%AE', '%', '%00', '%0D%0A', '..', '/', '\\', '%E4%BD', '?token=', '#', '%2F', '%25', 'sync', 'y'),
			fc.string({ maxLength: 12 }),
			fc.uuid().map((id) => id.toUpperCase()),
			fc.uuid()
		);
		const header = fc.oneof(
			fc.constant(''),
			fc.constantFrom('Origin: http://evil.example\r\n', `Authorization: Bearer ${tokens.viewer}\r\n`, 'Authorization: Bearer nonsense\r\n', 'Cookie: accord_session=%ZZ\r\n'),
			fc.string({ maxLength: 40 }).map((text) => `X-Fuzz: ${text.replace(/[\r\n]/g, '')}\r\n`)
		);
		await fc.assert(
			fc.asyncProperty(fc.constantFrom('/y/', '/sync', '/y', '/', '/sync/', '/y//'), fc.array(piece, { maxLength: 6 }), header, async (prefix, pieces, extra) => {
				const path = encodeURI(prefix + pieces.join('')).replace(/%25([0-9A-Fa-f]{2}|ZZ|$)/g, '%$1');
				await rawRequest(
					server.port,
					`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
				);
				return server.running;
			}),
			{ seed: SEED, numRuns: CASES, interruptAfterTimeLimit: TIME_LIMIT_MS }
		);
		expect(await healthy(server)).toBe(true);
	});

	it("survives arbitrary frames on both endpoints, and keeps serving everyone else (seeded, bounded)", async () => {
		const yUrl = `${server.wsUrl}/y/${recordId}?token=${tokens.editor}`;
		const syncUrl = `${server.wsUrl}/sync?token=${tokens.editor}`;
		const frame = fc.oneof(
			fc.uint8Array({ maxLength: 256 }),
			// A known message type with garbage after it reaches deeper than random bytes.
			fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), fc.uint8Array({ maxLength: 256 })).map(([type, rest]) => new Uint8Array([type, ...rest])),
			fc.tuple(fc.constantFrom(0, 1, 2), fc.uint8Array({ maxLength: 64 })).map(([sub, rest]) => new Uint8Array([MessageType.sync, sub, ...rest])),
			fc.array(fc.record({ client: fc.nat(), clock: fc.nat(), state: fc.jsonValue({ maxDepth: 3 }) }), { maxLength: 8 }).map(awarenessFrame)
		);
		const named = fc
			.tuple(fc.oneof(fc.constant(recordId), fc.constant(recordId.toUpperCase()), fc.constant('workspace:demo'), fc.string({ maxLength: 40 })), frame)
			.map(([name, inner]) => {
				const encoder = encoding.createEncoder();
				encoding.writeVarString(encoder, name);
				encoding.writeUint8Array(encoder, inner);
				return encoding.toUint8Array(encoder);
			});
		await fc.assert(
			fc.asyncProperty(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: 4 }), fc.array(named, { minLength: 1, maxLength: 4 }), async (plain, frames, namedFrames) => {
				await (plain ? sendFrames(yUrl, frames) : sendFrames(syncUrl, namedFrames));
				return server.running;
			}),
			{ seed: SEED, numRuns: CASES, interruptAfterTimeLimit: TIME_LIMIT_MS }
		);
		expect(await healthy(server)).toBe(true);

		// Everyone else is still served: a stock client edits, and the edit is stored.
		const client = yWebsocketClient(server.wsUrl, { token: tokens.editor }, recordId);
		try {
			await eventually(() => client.provider.synced, 'a stock client to sync after the fuzzing');
			fieldsOf(client.doc).set('city', 'Still Serving');
			await eventually(async () => {
				const { body } = await apiJson<{ fields: Record<string, unknown> }>(`${server.url}/api/records/${recordId}`, tokens.editor);
				return body.fields?.city === 'Still Serving';
			}, 'the edit to be stored');
		} finally {
			client.provider.destroy();
		}
	});
});

describe('presence amplification against a real server process', () => {
	/** The bound the README states: what one attacker may make the server hold, at most. */
	const RSS_GROWTH_BOUND = 100 * 1024 * 1024;
	let server: ServerProcess;
	let tokens: Tokens;
	let dir: TempDir;
	const sockets: WebSocket[] = [];

	beforeAll(async () => {
		({ server, tokens, dir } = await startServer('accord-amplify'));
	});
	afterAll(async () => {
		for (const socket of sockets) socket.terminate();
		await server?.kill('SIGTERM');
		await dir?.remove();
	});

	/** A raw socket, not the test client: these flood presence and one stops reading at the TCP level, as no client does. */
	async function open(url: string): Promise<WebSocket> {
		const socket = new WebSocket(url);
		sockets.push(socket);
		socket.on('error', () => {});
		await new Promise<void>((resolve, reject) => {
			socket.once('open', () => resolve());
			socket.once('close', () => reject(new Error('closed before opening')));
		});
		return socket;
	}

	it('keeps RSS growth under 100 MB while a viewer that stops reading floods presence queries', async () => {
		const id = await createRecordVia(server, tokens.editor, { name: 'Amplify Co' });
		const url = `${server.wsUrl}/y/${id}`;
		// A large presence set, as large as the limits let editors make it.
		for (let i = 0; i < 30; i++) {
			const socket = await open(`${url}?token=${tokens.editor}`);
			socket.send(awarenessFrame([0, 1, 2, 3].map((k) => ({ client: 10_000 + i * 4 + k, clock: 1, state: { pad: 'p'.repeat(7_000) } }))));
		}
		await new Promise((resolve) => setTimeout(resolve, 1_000));
		const before = rssBytes(server.pid!);

		// The attacker: a 900 KB presence state, then it stops reading and asks for everyone's presence 5,000 times.
		const attacker = await open(`${url}?token=${tokens.viewer}`);
		attacker.send(awarenessFrame([{ client: 99_999, clock: 1, state: { blob: 'x'.repeat(900 * 1024) } }]));
		(attacker as unknown as { _socket: net.Socket })._socket.pause();
		for (let i = 0; i < 5_000; i++) attacker.send(new Uint8Array([MessageType.queryAwareness]));
		// And one that reads, asking 1,000 times.
		const reader = await open(`${url}?token=${tokens.viewer}`);
		for (let i = 0; i < 1_000; i++) reader.send(new Uint8Array([MessageType.queryAwareness]));

		let peak = before;
		for (let i = 0; i < 20; i++) {
			await new Promise((resolve) => setTimeout(resolve, 250));
			peak = Math.max(peak, rssBytes(server.pid!));
			expect(await healthy(server)).toBe(true);
		}
		console.log(`presence amplification: RSS ${Math.round(before / 2 ** 20)} MB before, ${Math.round(peak / 2 ** 20)} MB at most after`);
		expect(peak - before).toBeLessThan(RSS_GROWTH_BOUND);
		expect(server.running).toBe(true);
	});
});
