/**
 * The credentials of a WebSocket upgrade, read from Node's request headers and URL
 * (`?token=` is accepted here, and only here: browsers cannot set headers on a WebSocket).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { upgradeCredentialsFrom, SESSION_COOKIE, type Credentials } from '../../src/lib/server/credentials.ts';

export { SESSION_COOKIE };

export function credentialsOf(headers: IncomingHttpHeaders, url: URL): Credentials {
	return upgradeCredentialsFrom(headers.cookie, headers.authorization, url);
}
