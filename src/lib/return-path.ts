/**
 * Where the browser may be sent back to after signing in (`returnTo`): only a path of
 * Accord itself. One rule for every place that accepts `returnTo` (the sign-in page,
 * /auth/login, the callback), shared by browser and server code, so none of them can
 * drift back to a prefix check that a browser reads differently (`/\host`, `/<tab>/host`,
 * `/.//host` all lead elsewhere once the browser's URL parser has had its say).
 */

/** Where people land when `returnTo` is missing or not a path of Accord. */
export const DEFAULT_RETURN_PATH = '/records';

/** Longer than any address Accord makes; longer values are not worth resolving. */
const MAX_RETURN_LENGTH = 2048;

/**
 * `value` as a path of `origin` (pathname, query and fragment), or `/records`.
 * The value is resolved the way a browser resolves a Location header (WHATWG URL
 * against the app's origin), and kept only if it stays on that origin. Control
 * characters are refused outright: the URL parser drops tabs and newlines silently,
 * and CR/LF must never reach a header.
 */
export function safeReturnPath(value: string | null | undefined, origin: string): string {
	if (!value || value.length > MAX_RETURN_LENGTH || /[\u0000-\u001f\u007f]/.test(value)) return DEFAULT_RETURN_PATH;
	let base: URL;
	let resolved: URL;
	try {
		base = new URL(origin);
		resolved = new URL(value, base);
	} catch {
		return DEFAULT_RETURN_PATH;
	}
	if (resolved.origin !== base.origin) return DEFAULT_RETURN_PATH;
	const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
	// A path can still begin with `//` after resolving (`/.//host` → `//host`), which a
	// browser would read as another host: check that the result, resolved once more, stays.
	let again: URL;
	try {
		again = new URL(path, base);
	} catch {
		return DEFAULT_RETURN_PATH;
	}
	return again.origin === base.origin && again.pathname === resolved.pathname && path.startsWith('/') ? path : DEFAULT_RETURN_PATH;
}
