/**
 * The set-up many browser test files spelled out the same way: a test server in a data
 * directory of its own and one Chromium, made before the file's tests and closed after
 * them. `useServerAndBrowser()` registers both hooks in the file (or `describe`) that
 * calls it and returns getters for what they made; the server and the browser start
 * side by side.
 *
 *   const env = useServerAndBrowser();            // or useServerAndBrowser({ seedDemo: true })
 *   it('…', async () => { const page = await pageAs(env.browser, env.server, 'alice'); … });
 */
import { afterAll, beforeAll } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AccordConfig } from '../../server/config.ts';
import type { RunningServer } from '../../server/http.ts';
import { launchBrowser } from './browser.ts';
import { startTestServer, tempDataDir } from './server.ts';

export interface ServerAndBrowser {
	readonly server: RunningServer;
	readonly browser: Browser;
	/** The server's data directory (removed after the tests). */
	readonly dataDir: string;
}

/** Starts a server (`startTestServer` with a data directory of its own, plus `overrides`) and Chromium for the tests of this file or `describe`. */
export function useServerAndBrowser(overrides: Partial<AccordConfig> = {}): ServerAndBrowser {
	let data: { dir: string; remove(): void } | undefined;
	let server: RunningServer | undefined;
	let browser: Browser | undefined;

	beforeAll(async () => {
		data = tempDataDir();
		const [started, launched] = await Promise.allSettled([startTestServer({ dataDir: data.dir, ...overrides }), launchBrowser()]);
		if (started.status === 'fulfilled') server = started.value;
		if (launched.status === 'fulfilled') browser = launched.value;
		// afterAll closes whichever did start.
		if (started.status === 'rejected') throw started.reason;
		if (launched.status === 'rejected') throw launched.reason;
	});

	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	const made = <T>(value: T | undefined, what: string): T => {
		if (value === undefined) throw new Error(`useServerAndBrowser: no ${what} (used outside a test, or its set-up failed)`);
		return value;
	};
	return {
		get server() {
			return made(server, 'server');
		},
		get browser() {
			return made(browser, 'browser');
		},
		get dataDir() {
			return made(data, 'data directory').dir;
		}
	};
}
