// `npm start`: build the app once if there is no build, bundle the server from the
// current source (about a second, every start, so it is never older than the source:
// scripts/build-server.js), then run it (signals pass through).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { buildServer } from './build-server.js';

if (!existsSync('build/handler.js')) {
	console.log('No build yet: building Accord first (this happens once).');
	const build = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
	if (build.status !== 0) process.exit(build.status ?? 1);
}
const { main } = await buildServer();
const server = spawn(process.execPath, [main], { stdio: 'inherit' });
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
