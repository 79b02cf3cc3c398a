/**
 * The soak's judgement, kept apart from its machinery so it can be read (and tested) on
 * its own: what a record's content is, whether the database holds every change a client
 * had, and whether memory and handles stayed flat. bench/soak.ts runs the load and
 * calls these; tests/unit/soak-verdict.test.ts feeds them made-up series.
 */
import * as Y from 'yjs';

/** A record's content as the soak compares it: fields with sorted keys, and the notes. */
export function recordContent(doc: Y.Doc): string {
	const fields = doc.getMap('fields').toJSON() as Record<string, unknown>;
	const sorted = Object.fromEntries(Object.keys(fields).sort().map((key) => [key, fields[key]]));
	return JSON.stringify({ fields: sorted, notes: doc.getText('notes').toString() });
}

/** A state vector (Yjs client id → clock) from its base64 encoding, as the client workers send it. */
export function decodeStateVector(base64: string): Map<number, number> {
	return Y.decodeStateVector(Buffer.from(base64, 'base64'));
}

/** Adds `next` into `into`: the highest clock per client id. */
export function mergeStateVectors(into: Map<number, number>, next: ReadonlyMap<number, number>): Map<number, number> {
	for (const [client, clock] of next) if (clock > (into.get(client) ?? 0)) into.set(client, clock);
	return into;
}

/** The changes `expected` has that `held` lacks: per client id, how many clocks are missing. */
export function missingChanges(held: ReadonlyMap<number, number>, expected: ReadonlyMap<number, number>): { clients: number; clocks: number } {
	let clients = 0;
	let clocks = 0;
	for (const [client, clock] of expected) {
		const have = held.get(client) ?? 0;
		if (have < clock) {
			clients++;
			clocks += clock - have;
		}
	}
	return { clients, clocks };
}

export const sameStateVector = (a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean =>
	a.size === b.size && [...a].every(([client, clock]) => b.get(client) === clock);

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than 3 points. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
	if (points.length < 3) return NaN;
	const n = points.length;
	const mx = points.reduce((a, p) => a + p.x, 0) / n;
	const my = points.reduce((a, p) => a + p.y, 0) / n;
	let num = 0;
	let den = 0;
	for (const p of points) {
		num += (p.x - mx) * (p.y - my);
		den += (p.x - mx) ** 2;
	}
	return den === 0 ? NaN : num / den;
}

const MB = 1024 * 1024;

/** The bounds a soak must stay within; the README states them. */
export const SOAK_BOUNDS = {
	/** The first third of the run is warm-up (caches fill, the database's pages are read, JIT settles). */
	warmupShare: 1 / 3,
	/** After warm-up, RSS never exceeds the warm-up's highest RSS by more than this share… */
	peakGrowth: 0.1,
	/** …plus this much (small servers: 10% of 150 MB is within the noise of one GC cycle). */
	peakSlackBytes: 16 * MB,
	/** RSS right after a forced full GC (once a minute in a full run), over the last third: least-squares slope at most this, bytes per minute. */
	rssSlopePerMinute: 2 * MB,
	/** The heap after a forced full GC over the last third: slope at most this, bytes per minute. */
	heapSlopePerMinute: 0.5 * MB,
	/**
	 * The heap after a full GC once every client has left and every record was unloaded:
	 * at most this much above the same before any client came (what a 9-minute run kept:
	 * 4.4 MB, of it 2.6 MB compiled code and 0.9 MB the bounded caches' strings). This is
	 * the leak check proper: while records are loaded the heap grows with them, since a
	 * Yjs document keeps every edit made to it, and the soak's records come back around
	 * with more history each cycle.
	 */
	retainedHeapSlackBytes: 16 * MB,
	/** Handles once every client has left and idle records were unloaded: at most this many more than before any client came. */
	handleSlack: 5,
	/** Open file descriptors other than the database's own files, likewise. */
	fdSlack: 5
} as const;

export interface MemoryPoint {
	/** Minutes since the load started. */
	minute: number;
	rss: number;
}

export interface SettledPoint {
	minute: number;
	/** heapUsed right after a forced full GC. */
	heap: number;
	/** RSS right after it. */
	rss: number;
}

export interface Check {
	name: string;
	value: string;
	pass: boolean;
}

const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

/** Memory flat after warm-up: peak RSS (every sample) bounded by the warm-up's; RSS and heap after a full GC not climbing in the last third. */
export function memoryChecks(rss: readonly MemoryPoint[], settled: readonly SettledPoint[], minutes: number): Check[] {
	const warmupEnd = minutes * SOAK_BOUNDS.warmupShare;
	const lastThird = minutes * (1 - SOAK_BOUNDS.warmupShare);
	const warm = rss.filter((p) => p.minute <= warmupEnd);
	const after = rss.filter((p) => p.minute > warmupEnd);
	const warmPeak = Math.max(...warm.map((p) => p.rss));
	const afterPeak = Math.max(...after.map((p) => p.rss));
	const limit = warmPeak * (1 + SOAK_BOUNDS.peakGrowth) + SOAK_BOUNDS.peakSlackBytes;
	const rssSlope = slope(settled.filter((p) => p.minute >= lastThird).map((p) => ({ x: p.minute, y: p.rss })));
	const heapSlope = slope(settled.filter((p) => p.minute >= lastThird).map((p) => ({ x: p.minute, y: p.heap })));
	return [
		{
			name: `peak RSS after warm-up ≤ warm-up peak × ${1 + SOAK_BOUNDS.peakGrowth} + ${mb(SOAK_BOUNDS.peakSlackBytes)}`,
			value: `${mb(afterPeak)} vs warm-up peak ${mb(warmPeak)} (limit ${mb(limit)})`,
			pass: warm.length > 0 && after.length > 0 && afterPeak <= limit
		},
		{
			name: `RSS after full GC, slope over the last third ≤ ${mb(SOAK_BOUNDS.rssSlopePerMinute)}/min`,
			value: Number.isFinite(rssSlope) ? `${mb(rssSlope)}/min` : 'too few samples',
			pass: Number.isFinite(rssSlope) && rssSlope <= SOAK_BOUNDS.rssSlopePerMinute
		},
		{
			name: `heap after full GC, slope over the last third ≤ ${mb(SOAK_BOUNDS.heapSlopePerMinute)}/min`,
			value: Number.isFinite(heapSlope) ? `${mb(heapSlope)}/min` : 'too few samples',
			pass: Number.isFinite(heapSlope) && heapSlope <= SOAK_BOUNDS.heapSlopePerMinute
		}
	];
}

export interface HandleState {
	/** `process.getActiveResourcesInfo()` by kind. */
	resources: Record<string, number>;
	/** Open descriptors by kind (socket, pipe, anon_inode:[eventfd]…, file); the database's own files apart. */
	fds: Record<string, number>;
	/** TCP connections on the server's port, in any state but LISTEN and TIME_WAIT (a socket the server still holds). */
	portSockets: number;
	documentsLoaded: number;
	connections: number;
	/** The heap after a full GC, bytes. */
	heapAfterGc: number;
}

const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * The kind of descriptor PGlite's files are counted under: PostgreSQL keeps relation files
 * open in its own file cache (bounded by its max_files_per_process), and the set grows with
 * the tables and indexes it has touched, not with clients. Reported, not judged.
 */
export const DATABASE_FILES = 'database file';

function withoutDatabase(fds: Record<string, number>): Record<string, number> {
	const { [DATABASE_FILES]: _db, ...rest } = fds;
	return rest;
}

/** What grew between two handle counts, by kind ("TCPSocketWrap +3"). */
export function resourceGrowth(before: Record<string, number>, after: Record<string, number>): string {
	const kinds = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
	const grown = kinds.map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)] as const).filter(([, d]) => d !== 0);
	return grown.length ? grown.map(([k, d]) => `${k} ${d > 0 ? '+' : ''}${d}`).join(', ') : 'none';
}

/** No handle leaks: with every client gone and idle records unloaded, the server is back where it was before any came. */
export function handleChecks(baseline: HandleState, end: HandleState): Check[] {
	return [
		{
			name: `active handles back to baseline (≤ +${SOAK_BOUNDS.handleSlack})`,
			value: `${total(end.resources)} vs ${total(baseline.resources)} before any client (changed: ${resourceGrowth(baseline.resources, end.resources)})`,
			pass: total(end.resources) <= total(baseline.resources) + SOAK_BOUNDS.handleSlack
		},
		{
			name: `open descriptors other than the database's files back to baseline (≤ +${SOAK_BOUNDS.fdSlack})`,
			value: `${total(withoutDatabase(end.fds))} vs ${total(withoutDatabase(baseline.fds))} (changed: ${resourceGrowth(withoutDatabase(baseline.fds), withoutDatabase(end.fds))}); the database's files open: ${end.fds[DATABASE_FILES] ?? 0} vs ${baseline.fds[DATABASE_FILES] ?? 0}`,
			pass: total(withoutDatabase(end.fds)) <= total(withoutDatabase(baseline.fds)) + SOAK_BOUNDS.fdSlack
		},
		{
			name: `heap after full GC back to baseline (≤ +${mb(SOAK_BOUNDS.retainedHeapSlackBytes)}) once every client left and every record unloaded`,
			value: `${mb(end.heapAfterGc)} vs ${mb(baseline.heapAfterGc)} before any client`,
			pass: end.heapAfterGc <= baseline.heapAfterGc + SOAK_BOUNDS.retainedHeapSlackBytes
		},
		{ name: 'no socket left on the server\'s port', value: String(end.portSockets), pass: end.portSockets === 0 },
		{ name: 'no connection or loaded record left', value: `${end.connections} connections, ${end.documentsLoaded} records loaded`, pass: end.connections === 0 && end.documentsLoaded === 0 }
	];
}
