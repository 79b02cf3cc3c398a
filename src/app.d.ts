import type { Person } from '$lib/people.ts';
import type { Locale } from '$lib/i18n/index.ts';

declare global {
	namespace App {
		interface Locals {
			/** Who is using this request; null until they have said who they are. */
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
