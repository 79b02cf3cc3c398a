/**
 * What a long run needs to see inside a server under test and /proc cannot show: the JS
 * heap, the live handles (sockets, timers, workers…) by kind, and how late the event loop
 * ran. Answered over the bench's IPC channel (bench/servers/common.ts, the `runtime`
 * command), so nothing is exposed on the network. The event-loop histogram starts on the
 * first call, so servers that are never asked pay nothing.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface RuntimeSample {
	memory: NodeJS.MemoryUsage;
	/** Active handles and requests (`process.getActiveResourcesInfo()`), counted by kind. */
	resources: Record<string, number>;
	/** Event-loop delay since the previous sample, ms (null on the first call, which starts the histogram). */
	eventLoop: { p50: number; p99: number; max: number; mean: number } | null;
}

let histogram: IntervalHistogram | null = null;

/**
 * One sample; with `gc`, a full collection first (the server runs with --expose-gc), so the
 * heap is what is still referenced, and the pause it causes is left out of the next sample.
 */
export function runtimeSample(gc = false): RuntimeSample {
	let eventLoop: RuntimeSample['eventLoop'] = null;
	if (histogram) {
		const toMs = (ns: number) => ns / 1e6;
		eventLoop = histogram.count > 0 ? { p50: toMs(histogram.percentile(50)), p99: toMs(histogram.percentile(99)), max: toMs(histogram.max), mean: toMs(histogram.mean) } : null;
	} else {
		histogram = monitorEventLoopDelay({ resolution: 10 });
		histogram.enable();
	}
	if (gc) for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
	histogram.reset();
	const resources: Record<string, number> = {};
	for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
	return { memory: process.memoryUsage(), resources, eventLoop };
}
