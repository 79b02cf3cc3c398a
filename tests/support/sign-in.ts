/**
 * Signing in through the real flow in a real browser: Accord's sign-in page, the
 * development identity provider's page (one button per demo user), and back.
 */
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { contextAs } from './browser.ts';

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

/** A new browser context (own cookies) with one page, signed in as `userId`. */
export async function pageAs(browser: Browser, server: RunningServer, userId: string, locale = 'en-US'): Promise<Page> {
	const page = await (await contextAs(browser, locale)).newPage();
	await signInAs(page, server, userId);
	return page;
}
