/**
 * The live path's CPU per update, in process: the steps of an update's life
 * (server/sync/pipeline.ts) from a connection's message to its acknowledgement, through
 * the real rooms, guard, audit entries and group-commit writer, with the database and the
 * sockets taken away (an in-memory store; connections that count what they are sent), so
 * what is measured is the server's own work per update and nothing it waits for. Four
 * writers type into one record (field edits and notes) while five others watch it.
 *
 * With `--against <dir>` (a checkout of another commit, with node_modules reachable) the
 * same run alternates between that tree and this one, rounds interleaved, so a change to
 * the live path can be compared back to back on one machine; the figure to read is the
 * median of each tree's rounds (a loaded machine spreads single rounds widely).
 *
 * Prints a table and writes bench/results/live-path.json. Not part of npm test.
 *
 *   node --import tsx bench/live-path.ts [--updates 3000] [--rounds 5] [--against /path/to/other/tree]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
	options: { updates: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '5' }, against: { type: 'string' }, 'one-round': { type: 'string' } },
	strict: true
});

interface Round {
	tree: string;
	updates: number;
	cpuMicrosPerUpdate: number;
}

/** One round in this process, against the tree at `root`: prints its result as JSON. */
async function oneRound(root: string, count: number): Promise<Round> {
	const Y = await import('yjs');
	const encoding = await import('lib0/encoding');
	const decoding = await import('lib0/decoding');
	const { Rooms } = await import(path.join(root, 'server/sync/rooms.ts'));
	const { MemoryBus, MemoryHub } = await import(path.join(root, 'server/bus/memory.ts'));
	const { createLogger } = await import(path.join(root, 'server/log.ts'));
	const { writeNewRecord, fieldsOf, notesOf } = await import(path.join(root, 'src/lib/model/record.ts'));
	const id = '0b6c1f8e-3a5d-4c1e-9f2a-7d8e9c0b1a2f';
	const seed = new Y.Doc();
	writeNewRecord(seed, { fields: { name: 'Acme', country: 'CN' }, tags: [], contacts: [], workspace: 'demo', createdBy: 'alice' });
	let seq = 0;
	type Person = { id: string; name: string };
	const bound = new Map<number, Person>();
	const store = {
		loadDocument: async () => ({ workspace: 'demo', snapshot: null, updates: [Y.encodeStateAsUpdate(seed)], lastSeq: 1 }),
		loadBindings: async () => new Map(),
		bindClients: async (_d: string, clients: number[], person: Person) => {
			for (const c of clients) if (!bound.has(c)) bound.set(c, person);
			return new Map(clients.map((c) => [c, bound.get(c)!]));
		},
		lookupBindings: async (_d: string, clients: number[]) => new Map(clients.filter((c) => bound.has(c)).map((c) => [c, bound.get(c)!])),
		appendUpdates: async (batch: { documentId: string }[]) => {
			seq += batch.length;
			return new Map(batch.map((b) => [b.documentId, seq]));
		},
		compact: async () => {},
		upsertProjection: async () => ({ private: false, owner: null }),
		getProjection: async () => null
	};
	const rooms = new Rooms({ store, bus: new MemoryBus(new MemoryHub()), log: createLogger('silent'), idleUnloadMs: 60_000, commitDelayMs: 2, compactAfter: 1e9, audit: true, isWorkspace: () => true });
	const room = await rooms.acquire(id);
	let nextPeer = 1;
	const peer = (name: string) => ({
		id: nextPeer++,
		multiplexed: true,
		source: 'ui',
		canWrite: true,
		actor: { id: name, name, role: 'editor' },
		send() {},
		sendFrame() {},
		refuseWrite(_room: unknown, reason: string) {
			throw new Error(`refused: ${reason}`);
		},
		evict() {}
	});
	const writers = [0, 1, 2, 3].map((i) => peer(`writer-${i}`));
	for (const p of [...writers, ...[0, 1, 2, 3, 4].map((i) => peer(`watcher-${i}`))]) room.join(p);
	const clients = writers.map((_, i) => {
		const doc = new Y.Doc();
		doc.clientID = 1000 + i;
		Y.applyUpdate(doc, Y.encodeStateAsUpdate(room.doc));
		return doc;
	});
	// Every message made beforehand: the clients' work is not the server's.
	const messages: Uint8Array[] = [];
	for (let i = 0; i < count; i++) {
		const client = clients[i % clients.length];
		const before = Y.encodeStateVector(client);
		if (i % 3 === 0) notesOf(client).insert(0, 'x');
		else fieldsOf(client).set(i % 2 ? 'name' : 'company', `v${i}`);
		const update = Y.encodeStateAsUpdate(client, before);
		for (const other of clients) if (other !== client) Y.applyUpdate(other, update);
		const encoder = encoding.createEncoder();
		encoding.writeVarUint(encoder, 0);
		encoding.writeVarUint(encoder, 2);
		encoding.writeVarUint8Array(encoder, update);
		messages.push(encoding.toUint8Array(encoder));
	}
	const run = async (from: number, to: number) => {
		for (let i = from; i < to; i++) {
			const decoder = decoding.createDecoder(messages[i]);
			const pending = room.receive(writers[i % writers.length], decoding.readVarUint(decoder), decoder);
			if (pending) await pending;
			// Let the writer's commits and the acknowledgements run, as a server's turns would.
			if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
		}
		await rooms.writer.flushed(id);
	};
	const warm = Math.floor(count / 10);
	await run(0, warm);
	const start = process.cpuUsage();
	await run(warm, count);
	const cpu = process.cpuUsage(start);
	return { tree: root, updates: count - warm, cpuMicrosPerUpdate: Math.round(((cpu.user + cpu.system) / (count - warm)) * 10) / 10 };
}

if (values['one-round']) {
	console.log(JSON.stringify(await oneRound(values['one-round'], Number(values.updates))));
	process.exit(0);
}

// Each round in a fresh process, trees alternating, so neither inherits the other's warm caches or heap.
const trees = values.against ? [path.resolve(values.against), HERE] : [HERE];
const rounds: Round[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
	for (const tree of trees) {
		const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one-round', tree, '--updates', values.updates], { cwd: HERE, encoding: 'utf8' });
		if (child.status !== 0) throw new Error(`a round failed against ${tree}:\n${child.stderr}`);
		rounds.push({ ...(JSON.parse(child.stdout.trim().split('\n').pop()!) as Round), tree });
	}
}
const label = (tree: string) => (tree === HERE ? 'this tree' : path.basename(tree));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
const summary = trees.map((tree) => {
	const mine = rounds.filter((r) => r.tree === tree).map((r) => r.cpuMicrosPerUpdate);
	return { tree: label(tree), rounds: mine, medianCpuMicrosPerUpdate: median(mine) };
});
console.log(`\nLive path, CPU per update (µs), ${Number(values.updates) - Math.floor(Number(values.updates) / 10)} updates a round, load ${load} on ${os.cpus().length} cores`);
console.log('| tree | median | rounds |\n| --- | --- | --- |');
for (const s of summary) console.log(`| ${s.tree} | ${s.medianCpuMicrosPerUpdate} | ${s.rounds.join(', ')} |`);
const dir = path.join(HERE, 'bench/results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'live-path.json'), `${JSON.stringify({ summary, rounds: rounds.map((r) => ({ ...r, tree: label(r.tree) })), load, cores: os.cpus().length, finishedAt: new Date().toISOString() }, null, 2)}\n`);
