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
			const config = readConfig();
			const port = server.config.server.port ?? 5173;
			accord = await createAccord({ ...config, publicUrl: config.publicUrl ?? `http://localhost:${port}` });
			const running = accord;
			server.httpServer?.on('upgrade', (request, socket, head) => {
				running.handleUpgrade(request, socket, head);
			});
			// /healthz and the development identity provider, ahead of SvelteKit.
			server.middlewares.use((req, res, next) => {
				if (!running.handleHttp(req, res)) next();
			});
			server.httpServer?.once('close', () => void running.close());
		}
	};
}

export default defineConfig({
	plugins: [accordDevServer(), sveltekit()],
	// The sign-in redirect names this port, so the dev server must not wander to another.
	server: { strictPort: true },
	build: { target: 'es2022' }
});
