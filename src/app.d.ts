import type { Person } from '$lib/people.ts';
import type { Locale } from '$lib/i18n/index.ts';
import type { Actor } from '$lib/access.ts';
import type { Authenticated } from '$lib/server/services.ts';

declare global {
	namespace App {
		interface Locals {
			/** Who is signed in (or which API token is used); null on public pages when nobody is. */
			auth: Authenticated | null;
			/** Shorthand for `auth.actor`; routes behind sign-in may rely on it. */
			actor: Actor | null;
			/** The signed-in person as the UI shows them; null for API tokens and nobody. */
			person: Person | null;
			locale: Locale;
		}
		interface Error {
			message: string;
			code?: string;
		}
	}
}

export {};
