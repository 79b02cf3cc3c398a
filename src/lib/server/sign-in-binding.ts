/**
 * The cookie that binds a sign-in to the browser that started it (against login CSRF:
 * without it, an attacker's own unvisited callback URL, opened in someone else's
 * browser, would sign that browser in as the attacker). /auth/login adds the attempt's
 * state to it; /auth/callback completes only a state the cookie holds, then takes it out.
 *
 * It holds the states of the last few attempts rather than one, so that two tabs signing
 * in at once both succeed. HttpOnly and on /auth only: no script and no other path sees it.
 */
import type { Cookies } from '@sveltejs/kit';

export const SIGN_IN_COOKIE = 'accord_sign_in';

/** As long as the server keeps a sign-in attempt (server/store/auth-store.ts). */
const MAX_AGE_SECONDS = 10 * 60;
/** Attempts under way at once in one browser (tabs); older ones drop out. */
const MAX_BINDINGS = 3;
/** What a state looks like (openid-client's random values are base64url); anything else is not ours. */
const BINDING = /^[\w-]{16,128}$/;

function read(cookies: Cookies): string[] {
	return (cookies.get(SIGN_IN_COOKIE) ?? '').split('.').filter((value) => BINDING.test(value));
}

function write(cookies: Cookies, bindings: string[], secure: boolean): void {
	const options = { path: '/auth', httpOnly: true, sameSite: 'lax', secure } as const;
	if (bindings.length === 0) cookies.delete(SIGN_IN_COOKIE, options);
	else cookies.set(SIGN_IN_COOKIE, bindings.join('.'), { ...options, maxAge: MAX_AGE_SECONDS });
}

/** The attempts this browser started (and has not finished). */
export function signInBindings(cookies: Cookies): string[] {
	return read(cookies);
}

/** Records that this browser started the attempt with `binding` (its state). */
export function bindSignIn(cookies: Cookies, binding: string, secure: boolean): void {
	write(cookies, [binding, ...read(cookies).filter((value) => value !== binding)].slice(0, MAX_BINDINGS), secure);
}

/** The attempt is over in this browser: its binding goes, and the cookie with the last one. */
export function releaseSignIn(cookies: Cookies, binding: string | null, secure: boolean): void {
	const bindings = read(cookies);
	if (binding === null || !bindings.includes(binding)) return;
	write(cookies, bindings.filter((value) => value !== binding), secure);
}
