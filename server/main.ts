/** The production entry: `npm start` runs this after building. */
import { readConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startServer } from './http.ts';

const config = readConfig();
const log = createLogger(config.logLevel);

/**
 * The last line of defence: every handler of outside input answers its own failures
 * (HTTP, upgrades, socket frames, files), but a bug that still lets an exception escape
 * must cost one request or socket, not the process and every edit not yet stored. It is
 * logged at error level, loudly, so it gets fixed.
 */
process.on('uncaughtException', (error) => log.error('uncaught exception (kept serving)', { error: error.message, stack: error.stack }));
process.on('unhandledRejection', (reason) =>
	log.error('unhandled promise rejection (kept serving)', { error: reason instanceof Error ? reason.message : String(reason), stack: reason instanceof Error ? reason.stack : undefined })
);

try {
	const running = await startServer(config, log);
	const health = await running.accord.services.health();
	log.info(`Accord is running at ${running.url}`, { store: health.store, bus: health.bus, dataDir: config.databaseUrl ? undefined : config.dataDir });
	let stopping = false;
	const stop = async (signal: string) => {
		if (stopping) return;
		stopping = true;
		log.info('stopping', { signal });
		await running.close();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop('SIGINT'));
	process.on('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
	log.error(`Accord could not start: ${(error as Error).message}`);
	process.exit(1);
}
