/**
 * What a test runs to start Accord's server or its command line in a child process:
 * the bundle of this run (tests/support/global-setup.ts), or, where no bundle was made
 * (a script run outside vitest), the TypeScript source through tsx, as `npm run accord` does.
 */
import path from 'node:path';
import { inject } from 'vitest';

export function entryArgs(entry: 'main' | 'cli'): string[] {
	let bundle: string | undefined;
	try {
		bundle = inject('serverBundle');
	} catch {
		bundle = undefined;
	}
	return bundle ? [path.join(bundle, `${entry}.js`)] : ['--import', 'tsx', `server/${entry}.ts`];
}
