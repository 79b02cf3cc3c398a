/**
 * What the kernel knows about a process: CPU time, resident memory, bytes read and
 * written. Read from /proc, so measuring a process costs that process nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for utime/stime in /proc/<pid>/stat (100 on every Linux we run on). */
const CLOCK_TICKS = 100;

/** User + system CPU time of a process, in microseconds (10 ms resolution). */
export function cpuMicros(pid: number): number {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// The command name may contain spaces; fields are counted after its closing parenthesis.
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		const utime = Number(fields[11]);
		const stime = Number(fields[12]);
		return ((utime + stime) * 1e6) / CLOCK_TICKS;
	} catch {
		return 0;
	}
}

export interface Memory {
	/** Resident set size now, bytes. */
	rss: number;
	/** Peak resident set size since the process started (VmHWM), bytes. */
	peak: number;
}

export function memory(pid: number): Memory {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
		return { rss: kb('VmRSS'), peak: kb('VmHWM') };
	} catch {
		return { rss: 0, peak: 0 };
	}
}

/** Bytes passed through read()/write() syscalls (sockets included) by a process. */
export function ioBytes(pid: number | 'self' = 'self'): { read: number; written: number } {
	try {
		const io = readFileSync(`/proc/${pid}/io`, 'utf8');
		const value = (key: string) => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
		return { read: value('rchar'), written: value('wchar') };
	} catch {
		return { read: 0, written: 0 };
	}
}

/** Samples a process's RSS every `everyMs` and keeps the highest value seen. */
export class RssSampler {
	private timer: ReturnType<typeof setInterval> | null = null;
	max = 0;

	constructor(
		private readonly pid: number,
		private readonly everyMs = 100
	) {}

	start(): this {
		this.max = memory(this.pid).rss;
		this.timer = setInterval(() => (this.max = Math.max(this.max, memory(this.pid).rss)), this.everyMs);
		this.timer.unref();
		return this;
	}

	stop(): number {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
		this.max = Math.max(this.max, memory(this.pid).rss);
		return this.max;
	}
}

/**
 * CPU time of the shared services (Postgres and Redis server processes) on this machine,
 * in microseconds. Includes anything else using them at the time; reported as context.
 */
export function serviceCpuMicros(): number {
	let total = 0;
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
			if (comm.startsWith('postgres') || comm.startsWith('redis-server')) total += cpuMicros(Number(entry));
		} catch {
			// The process ended while we looked.
		}
	}
	return total;
}

/** CPU time spent by everything on the machine (all cores, not idle or iowait), in microseconds. */
export function machineBusyMicros(): number {
	try {
		const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
		const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
		return ((user + nice + system + irq + softirq + (steal || 0)) * 1e6) / CLOCK_TICKS;
	} catch {
		return 0;
	}
}
