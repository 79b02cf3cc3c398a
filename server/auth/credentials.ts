import type { IncomingHttpHeaders } from 'node:http';
import { credentialsFrom, SESSION_COOKIE, type Credentials } from '../../src/lib/server/credentials.ts';

export { SESSION_COOKIE };

export function credentialsOf(headers: IncomingHttpHeaders, url: URL): Credentials {
	return credentialsFrom(headers.cookie, headers.authorization, url);
}
