import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig, type Plugin } from 'vite';
import { readConfig } from './server/config.ts';
import { createAccord, type Accord } from './server/app.ts';

/** `npm run dev`: the same sync server and services as production, on the dev server's port. */
function accordDevServer(): Plugin {
	let accord: Accord | undefined;
	return {
		name: 'accord-dev-server',
		apply: 'serve',
		async configureServer(server) {
			accord = await createAccord(readConfig());
			const running = accord;
			server.httpServer?.on('upgrade', (request, socket, head) => {
				running.handleUpgrade(request, socket, head);
			});
			server.middlewares.use('/healthz', (_req, res) => {
				void running.services.health().then((health) => {
					res.setHeader('content-type', 'application/json');
					res.end(JSON.stringify(health));
				});
			});
			server.httpServer?.once('close', () => void running.close());
		}
	};
}

export default defineConfig({
	plugins: [accordDevServer(), sveltekit()],
	build: { target: 'es2022' }
});
