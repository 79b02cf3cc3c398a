/**
 * Where a request carries its proof of identity: the session cookie (browsers), or an
 * API token as `Authorization: Bearer` or `?token=` (integrations, WebSocket clients
 * that cannot set headers). Used by SvelteKit's hooks and the WebSocket upgrade alike.
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

export function credentialsFrom(cookieHeader: string | null | undefined, authorization: string | null | undefined, url: URL): Credentials {
	const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? null;
	return { sessionToken: readCookie(cookieHeader, SESSION_COOKIE), apiToken: bearer ?? url.searchParams.get('token') };
}
