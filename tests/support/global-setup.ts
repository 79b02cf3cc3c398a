/**
 * Once per vitest process of the integration and e2e projects: the server and the command
 * line bundled from the current source (scripts/build-server.js, about a second), into a
 * folder of build/ of this process's own (`npm test` runs two processes side by side).
 * The tests start them as child processes about a hundred and twenty times, and each start
 * through tsx cost 1-3 s of CPU in its loader; made here on every run, the bundle is never
 * older than the source. tests/support/entry.ts hands it to the tests.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildServer } from '../../scripts/build-server.js';

declare module 'vitest' {
	export interface ProvidedContext {
		/** The folder holding this run's main.js and cli.js. */
		serverBundle: string;
	}
}

export default async function setup(project: TestProject): Promise<() => void> {
	// By project too: the e2e lane's process runs a few integration files, and each project runs its own setup.
	const dir = path.resolve(import.meta.dirname, '../../build', `accord-server-test-${process.pid}-${project.name}`);
	await buildServer(dir);
	project.provide('serverBundle', dir);
	return () => rmSync(dir, { recursive: true, force: true });
}
