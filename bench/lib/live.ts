/**
 * One live measurement: connect clients (timing the set-up), let them edit at a rate,
 * warm up, then measure a window: per-update latency from send on one client to apply
 * on another, updates per second, the servers' CPU time and peak RSS, bytes on the wire.
 */
import type { ClientSpec } from '../workers/clients.ts';
import { cpuMicros as processCpuMicros, machineBusyMicros, serviceCpuMicros, RssSampler } from './proc.ts';
import { percentiles, type Percentiles } from './report.ts';
import { sleep, type Target } from './targets.ts';
import type { WorkerPool } from './workers.ts';

export interface LiveClient extends ClientSpec {
	/** Which worker process runs it. */
	worker: number;
	/** Which of the targets it connects to (two instances); 0 by default. */
	instance?: number;
}

export interface LiveSpec {
	clients: LiveClient[];
	writers: string[] | 'all';
	ratePerSecond: number;
	notesShare: number;
	warmupMs: number;
	durationMs: number;
	/** Connections opened at once per worker while connecting. */
	concurrency: number;
	/** Write a CPU profile of the first target's measured window to this file. */
	profile?: string | null;
}

export interface LiveMeasurement {
	connected: number;
	failed: number;
	setupMs: number;
	setupPerSecond: number;
	latencies: number[];
	latency: Percentiles;
	sent: number;
	received: number;
	elapsedMs: number;
	/** Server CPU time in the window, µs, summed over the targets' processes. */
	cpuMicros: number;
	/** Postgres and Redis processes' CPU time in the window, µs. */
	serviceCpuMicros: number;
	/** Highest RSS in the window, summed over the targets' processes. */
	peakRss: number;
	bytes: number;
	clientErrors: number;
	/** CPU time of the client processes in the window, µs (to show the load generator is not the bottleneck). */
	clientCpuMicros: number;
	/**
	 * CPU time of everything else on the machine in the window (other people's tests, a
	 * browser…), µs: the benchmark shares a 2-core box, and this says how much it shared.
	 */
	otherCpuMicros: number;
	/** Accord: updates waiting in the group-commit writer at the end of the window (summed over instances). */
	writerBacklog?: number;
	/** Accord: updates stored (committed with their audit entries) during the window, summed over instances. */
	stored?: number;
}

export async function runLive(pool: WorkerPool, targets: Target[], spec: LiveSpec): Promise<LiveMeasurement> {
	// Connect: every (worker, instance) group at once, each group `concurrency` at a time.
	const started = performance.now();
	const groups = new Map<string, LiveClient[]>();
	for (const client of spec.clients) {
		const key = `${client.worker}/${client.instance ?? 0}`;
		groups.set(key, [...(groups.get(key) ?? []), client]);
	}
	const connects = await Promise.all(
		[...groups.entries()].map(([key, clients]) => {
			const [worker, instance] = key.split('/').map(Number);
			const target = targets[instance];
			return pool.workers[worker].call<{ connected: number; failed: number }>({
				cmd: 'connect',
				dialect: target.dialect,
				url: target.url,
				token: target.token,
				clients: clients.map(({ key: k, record }) => ({ key: k, record })),
				concurrency: spec.concurrency,
				presence: true,
				timeoutMs: 30_000
			});
		})
	);
	const setupMs = performance.now() - started;
	const connected = connects.reduce((a, c) => a + c.connected, 0);
	const failed = connects.reduce((a, c) => a + c.failed, 0);

	await pool.all({ cmd: 'start', writers: spec.writers, ratePerSecond: spec.ratePerSecond, notesShare: spec.notesShare });
	await sleep(spec.warmupMs);

	const samplers = targets.map((t) => new RssSampler(t.server.pid).start());
	const cpuBefore = targets.map((t) => t.server.cpuMicros());
	const busyBefore = machineBusyMicros();
	const ownBefore = process.cpuUsage();
	const clientCpuBefore = pool.workers.reduce((a, w) => a + processCpuMicros(w.child.pid!), 0);
	const serviceBefore = serviceCpuMicros();
	const storedBefore = storedTotal(await Promise.all(targets.map((t) => t.server.stats())));
	if (spec.profile) await targets[0].server.call({ cmd: 'profileStart' });
	await pool.all({ cmd: 'reset' });
	await sleep(spec.durationMs);
	const marked = await pool.mark();
	if (spec.profile) await targets[0].server.call({ cmd: 'profileStop', file: spec.profile });
	const cpuMicros = targets.reduce((total, t, i) => total + t.server.cpuMicros() - cpuBefore[i], 0);
	const serviceCpu = serviceCpuMicros() - serviceBefore;
	const clientCpu = pool.workers.reduce((a, w) => a + processCpuMicros(w.child.pid!), 0) - clientCpuBefore;
	const own = process.cpuUsage(ownBefore);
	const otherCpu = Math.max(0, machineBusyMicros() - busyBefore - cpuMicros - serviceCpu - clientCpu - own.user - own.system);
	const peakRss = samplers.reduce((total, s) => total + s.stop(), 0);
	const stats = await Promise.all(targets.map((t) => t.server.stats()));
	const backlogs = stats.map((s) => s.pendingWrites).filter((n): n is number => typeof n === 'number');
	const storedAfter = storedTotal(stats);

	await pool.all({ cmd: 'stop' });
	await pool.all({ cmd: 'close' });
	return {
		connected,
		failed,
		setupMs,
		setupPerSecond: (connected / setupMs) * 1000,
		latencies: marked.latencies,
		latency: percentiles(marked.latencies),
		sent: marked.sent,
		received: marked.received,
		elapsedMs: marked.elapsedMs,
		cpuMicros,
		serviceCpuMicros: serviceCpu,
		peakRss,
		bytes: marked.bytesRead + marked.bytesWritten,
		clientErrors: marked.errors,
		clientCpuMicros: clientCpu,
		otherCpuMicros: otherCpu,
		writerBacklog: backlogs.length ? backlogs.reduce((a, b) => a + b, 0) : undefined,
		stored: storedBefore !== undefined && storedAfter !== undefined ? storedAfter - storedBefore : undefined
	};
}

function storedTotal(stats: ReadonlyArray<{ storedUpdates?: number }>): number | undefined {
	const counts = stats.map((s) => s.storedUpdates).filter((n): n is number => typeof n === 'number');
	return counts.length > 0 ? counts.reduce((a, b) => a + b, 0) : undefined;
}

/** Merges rounds of one server: samples pooled, counters summed, peaks maxed. */
export function mergeRounds(rounds: LiveMeasurement[]): LiveMeasurement {
	if (rounds.length === 1) return rounds[0];
	const sum = (pick: (m: LiveMeasurement) => number) => rounds.reduce((a, m) => a + pick(m), 0);
	const latencies = rounds.flatMap((m) => m.latencies);
	return {
		connected: Math.min(...rounds.map((m) => m.connected)),
		failed: sum((m) => m.failed),
		setupMs: sum((m) => m.setupMs) / rounds.length,
		setupPerSecond: sum((m) => m.setupPerSecond) / rounds.length,
		latencies,
		latency: percentiles(latencies),
		sent: sum((m) => m.sent),
		received: sum((m) => m.received),
		elapsedMs: sum((m) => m.elapsedMs),
		cpuMicros: sum((m) => m.cpuMicros),
		serviceCpuMicros: sum((m) => m.serviceCpuMicros),
		peakRss: Math.max(...rounds.map((m) => m.peakRss)),
		bytes: sum((m) => m.bytes),
		clientErrors: sum((m) => m.clientErrors),
		clientCpuMicros: sum((m) => m.clientCpuMicros),
		otherCpuMicros: sum((m) => m.otherCpuMicros),
		writerBacklog: rounds.some((m) => m.writerBacklog !== undefined) ? Math.max(...rounds.map((m) => m.writerBacklog ?? 0)) : undefined,
		stored: rounds.every((m) => m.stored !== undefined) ? sum((m) => m.stored ?? 0) : undefined
	};
}
