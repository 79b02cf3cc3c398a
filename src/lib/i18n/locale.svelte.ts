/**
 * The current UI locale as rune state, so every `t()` call in a template re-renders
 * when it changes. Set by the root layout from the server's choice (cookie or
 * Accept-Language) and by the language switch.
 */
import type { Locale } from './index.ts';

export const current = $state<{ locale: Locale }>({ locale: 'en' });
