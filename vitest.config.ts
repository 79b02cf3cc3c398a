import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Three levels, one runner. Integration and e2e tests start real servers (and a
// real browser), so they run one file at a time to keep the 2-core machine calm.
export default defineConfig({
	test: {
		projects: [
			// Svelte compiles the rune modules (`*.svelte.ts`: the locale, sync state) the shared code imports.
			{ plugins: [svelte()], test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], environment: 'node' } },
			{
				test: {
					name: 'integration',
					include: ['tests/integration/**/*.test.ts'],
					testTimeout: 60_000,
					hookTimeout: 120_000,
					fileParallelism: false
				}
			},
			{
				test: {
					name: 'e2e',
					include: ['tests/e2e/**/*.test.ts'],
					testTimeout: 120_000,
					hookTimeout: 180_000,
					fileParallelism: false
				}
			}
		]
	}
});
