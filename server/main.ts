/** The production entry: `npm start` runs this after building. */
import { readConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startServer } from './http.ts';

const config = readConfig();
const log = createLogger(config.logLevel);

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
