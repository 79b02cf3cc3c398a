/**
 * Where a request carries its proof of identity: the session cookie (browsers), or an
 * API token. On HTTP the token travels only in `Authorization: Bearer`: an address with
 * `?token=` ends up in proxy logs, browser history and Referer headers. WebSocket
 * upgrades also take `?token=`, because browsers cannot set headers on a WebSocket.
 * Used by SvelteKit's hooks (HTTP) and the WebSocket upgrade (server/auth/credentials.ts).
 */
export const SESSION_COOKIE = 'accord_session';

export interface Credentials {
	sessionToken: string | null;
	apiToken: string | null;
}

export function readCookie(header: string | null | undefined, name: string): string | null {
	for (const part of (header ?? '').split(';')) {
		const index = part.indexOf('=');
		if (index > 0 && part.slice(0, index).trim() === name) {
			try {
				return decodeURIComponent(part.slice(index + 1).trim());
			} catch {
				return null;
			}
		}
	}
	return null;
}

function bearerOf(authorization: string | null | undefined): string | null {
	return /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? null;
}

/** An HTTP request's credentials: the session cookie, or a token in the Authorization header (never the address). */
export function credentialsFrom(cookieHeader: string | null | undefined, authorization: string | null | undefined): Credentials {
	return { sessionToken: readCookie(cookieHeader, SESSION_COOKIE), apiToken: bearerOf(authorization) };
}

/** A WebSocket upgrade's credentials: as for HTTP, plus `?token=` when there is no Authorization header. */
export function upgradeCredentialsFrom(cookieHeader: string | null | undefined, authorization: string | null | undefined, url: URL): Credentials {
	return { sessionToken: readCookie(cookieHeader, SESSION_COOKIE), apiToken: bearerOf(authorization) ?? url.searchParams.get('token') };
}
