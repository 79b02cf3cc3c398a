/** A small leveled logger writing one line per event; enough for a service run under a supervisor. */
import type { AccordConfig } from './config.ts';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

export interface Logger {
	debug(message: string, details?: Record<string, unknown>): void;
	info(message: string, details?: Record<string, unknown>): void;
	warn(message: string, details?: Record<string, unknown>): void;
	error(message: string, details?: Record<string, unknown>): void;
}

export function createLogger(level: AccordConfig['logLevel']): Logger {
	const threshold = LEVELS[level];
	const write = (name: keyof typeof LEVELS, message: string, details?: Record<string, unknown>) => {
		if (LEVELS[name] < threshold) return;
		const suffix = details && Object.keys(details).length > 0 ? ' ' + JSON.stringify(details) : '';
		const line = `${new Date().toISOString()} ${name.toUpperCase().padEnd(5)} ${message}${suffix}\n`;
		(LEVELS[name] >= LEVELS.warn ? process.stderr : process.stdout).write(line);
	};
	return {
		debug: (m, d) => write('debug', m, d),
		info: (m, d) => write('info', m, d),
		warn: (m, d) => write('warn', m, d),
		error: (m, d) => write('error', m, d)
	};
}
