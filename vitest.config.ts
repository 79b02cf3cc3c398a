import { configDefaults, defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Three levels, one runner. Integration and e2e tests start real servers (and a
// real browser), so they run one file at a time to keep the 2-core machine calm.
//
// They also share one module graph per process (`isolate: false`): isolated, every file
// got a fresh child process that imported the server's few hundred modules again, and
// in a clean-clone `.ci/run` on 2 cores the time between one file's end and the next
// one's start came to 367 s of the integration lane's 1,340 s (eight small files:
// 25.6 s isolated, 12.0 s not). Every file starts its own servers, databases and
// browsers and closes them, and the few that change process.env put it back, so nothing
// a file makes outlives it;
// module-level caches (tokenizer, phone formats) are shared, as they are in a server.
// Their servers and command lines run as child processes from a bundle made once per
// run (tests/support/global-setup.ts).
//
// `npm test` (scripts/test.js) runs two vitest processes side by side and evens them
// out by running a few integration files in the e2e lane's process: it names them in
// ACCORD_TEST_INTEGRATION_ONLY for that process and in ACCORD_TEST_INTEGRATION_SKIP for
// the other (comma-separated paths from the repository root). Unset, as for any other
// vitest command, the integration project is every file under tests/integration.
const listed = (name: string): string[] =>
	(process.env[name] ?? '')
		.split(',')
		.map((file) => file.trim())
		.filter(Boolean);
const integrationOnly = listed('ACCORD_TEST_INTEGRATION_ONLY');
const integrationSkip = listed('ACCORD_TEST_INTEGRATION_SKIP');

export default defineConfig({
	test: {
		projects: [
			// Svelte compiles the rune modules (`*.svelte.ts`: the locale, sync state) the shared code imports.
			{ plugins: [svelte()], test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], environment: 'node' } },
			{
				test: {
					name: 'integration',
					include: integrationOnly.length > 0 ? integrationOnly : ['tests/integration/**/*.test.ts'],
					exclude: [...configDefaults.exclude, ...integrationSkip],
					testTimeout: 60_000,
					hookTimeout: 120_000,
					fileParallelism: false,
					isolate: false,
					globalSetup: ['tests/support/global-setup.ts']
				}
			},
			{
				test: {
					name: 'e2e',
					include: ['tests/e2e/**/*.test.ts'],
					testTimeout: 120_000,
					hookTimeout: 180_000,
					fileParallelism: false,
					isolate: false,
					globalSetup: ['tests/support/global-setup.ts']
				}
			}
		]
	}
});
