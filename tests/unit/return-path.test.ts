/**
 * The returnTo rule (src/lib/return-path.ts) as properties: whatever string arrives,
 * what comes out is a path that a browser, resolving it as a Location header, keeps on
 * Accord's origin; and a path that is already safe comes out unchanged. Strings are built
 * from the pieces open redirects are made of (slashes, backslashes, dots, tabs, schemes,
 * hosts, percent escapes), which random text alone would rarely combine.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETURN_PATH, safeReturnPath } from '../../src/lib/return-path.ts';

const ORIGINS = ['http://127.0.0.1:3000', 'https://crm.example.com'];

const piece = fc.constantFrom(
	'/', '//', '\\', '/\\', '.', '..', '\t', '\n', '\r', ' ', '\u0000', '\u007f', '%09', '%2F', '%5C', '%00', '?', '#', '@', ':',
	'http:', 'https:', 'javascript:', 'data:', 'evil.example', 'crm.example.com', '127.0.0.1:3000', 'records', '王', 'x=1', '&'
);
const hostile = fc.array(fc.oneof(piece, fc.string({ maxLength: 4 })), { maxLength: 12 }).map((parts) => parts.join(''));

/** Where a browser at `origin` ends up when told `Location: path`. */
function landing(path: string, origin: string): URL {
	return new URL(path, origin);
}

describe('safeReturnPath', () => {
	it('always answers a path that stays on the origin, without control characters', () => {
		fc.assert(
			fc.property(hostile, fc.constantFrom(...ORIGINS), (value, origin) => {
				const path = safeReturnPath(value, origin);
				expect(path.startsWith('/')).toBe(true);
				expect(path.startsWith('//')).toBe(false);
				expect(path).not.toMatch(/[\u0000-\u001f\u007f]/);
				// A backslash in the path would read as a slash (`/\host`); in the query or fragment it is only text.
				expect(path.split(/[?#]/)[0]).not.toContain('\\');
				expect(landing(path, origin).origin).toBe(new URL(origin).origin);
			}),
			{ numRuns: 5000 }
		);
	});

	it('is idempotent: a path it answered comes back as it is', () => {
		fc.assert(
			fc.property(hostile, fc.constantFrom(...ORIGINS), (value, origin) => {
				const once = safeReturnPath(value, origin);
				expect(safeReturnPath(once, origin)).toBe(once);
			}),
			{ numRuns: 2000 }
		);
	});

	it('keeps plain paths of the app, with query and fragment', () => {
		const segment = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
		fc.assert(
			fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.option(segment, { nil: undefined }), (segments, query) => {
				const path = `/${segments.join('/')}${query ? `?q=${query}#${query}` : ''}`;
				expect(safeReturnPath(path, ORIGINS[0])).toBe(path);
			})
		);
	});

	it.each(['/\\evil.example/x', '/\t/evil.example/x', '/.//evil.example/x', '//evil.example', 'https://evil.example/', '/records\r\nSet-Cookie: a=1', null, undefined, ''])(
		'sends %j to the default',
		(value) => {
			expect(safeReturnPath(value, ORIGINS[0])).toBe(DEFAULT_RETURN_PATH);
		}
	);
});
