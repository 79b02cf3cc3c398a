/**
 * Signing in through the real flow in a real browser: Accord's sign-in page, the
 * development identity provider's page (one button per demo user), and back.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { contextAs, DESKTOP } from './browser.ts';

/** The development provider's login page: a form posting to /idp/interaction/<uid>/login with one button per user. */
export const DEV_USER_BUTTON = (userId: string) => `form[action$="/login"] button[name="user"][value="${userId}"]`;

/**
 * Signs `page` in as a demo user: /records → the sign-in page (redirected there) → the
 * sign-in button → the user's button at the development provider → back on /records.
 */
export async function signInAs(page: Page, server: RunningServer, userId: string): Promise<void> {
	const origin = new URL(server.url).origin;
	await page.goto(`${server.url}/records`);
	await page.waitForURL((url) => url.origin === origin && url.pathname === '/auth/sign-in', { timeout: 15_000 });
	await page.getByTestId('sign-in-button').click();
	// The provider is mounted at /idp on the same server; its page lists the demo users.
	await page.waitForURL((url) => url.pathname.includes('/idp/interaction/'), { timeout: 15_000 });
	await page.locator(DEV_USER_BUTTON(userId)).click();
	await page.waitForURL((url) => url.origin === origin && url.pathname === '/records', { timeout: 15_000 });
	await page.waitForSelector(`[data-testid="signed-in-person"][data-person="${userId}"]`, { timeout: 15_000 });
}

type Session = Awaited<ReturnType<BrowserContext['storageState']>>;

/**
 * Sessions already signed in through the real flow, by server and person: a later page
 * for the same person starts from that session's cookies instead of walking the
 * provider's pages again (about three seconds each; the flow itself is what
 * sign-in-and-roles tests). Only the cookies are carried: IndexedDB and the service
 * worker start empty, as in a new browser profile.
 */
const sessions = new Map<string, Session>();

export interface PageOptions {
	locale?: string;
	viewport?: { width: number; height: number };
}

/**
 * A new browser context (own cookies, own storage) with one page on /records, signed in
 * as `userId`: through the development provider the first time for this server and
 * person, from that session afterwards.
 */
export async function pageAs(browser: Browser, server: RunningServer, userId: string, options: string | PageOptions = {}): Promise<Page> {
	const { locale = 'en-US', viewport } = typeof options === 'string' ? { locale: options } : options;
	const key = `${server.url} ${userId}`;
	const session = sessions.get(key);
	const context = session
		? await browser.newContext({ locale, viewport: viewport ?? DESKTOP, storageState: { cookies: session.cookies, origins: [] } })
		: await contextAs(browser, locale, viewport);
	const page = await context.newPage();
	if (session) {
		await page.goto(`${server.url}/records`);
		// Whichever comes first: the person's name (the session holds), or the sign-in page
		// (it ended). Waiting for the name alone spent its whole 15 s on every ended session
		// (a test that signs out and comes back: 17 s of each such page, 34 s of one file).
		const origin = new URL(server.url).origin;
		const signedIn = await Promise.race([
			page
				.waitForSelector(`[data-testid="signed-in-person"][data-person="${userId}"]`, { timeout: 15_000 })
				.then(() => true)
				.catch(() => false),
			page
				.waitForURL((url) => url.origin === origin && url.pathname === '/auth/sign-in', { timeout: 15_000 })
				.then(() => false)
				.catch(() => false)
		]);
		if (signedIn) return page;
		// The session ended (signed out, or the server restarted on new data): sign in again.
		sessions.delete(key);
		await context.clearCookies();
	}
	await signInAs(page, server, userId);
	sessions.set(key, await context.storageState());
	return page;
}
