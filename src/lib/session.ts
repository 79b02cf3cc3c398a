/** The demo identity cookie, until sign-in (SSO) replaces it, and safe redirect targets. */
export const PERSON_COOKIE = 'accord_person';

/** A same-origin path to go to after choosing who you are; anything else becomes /records. */
export function safeNext(next: string | null | undefined): string {
	if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/records';
	if (next === '/welcome' || next.startsWith('/welcome?') || next.startsWith('/welcome/')) return '/records';
	return next;
}
