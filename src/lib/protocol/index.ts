/**
 * Accord's wire protocol, shared code: the one entry point that the browser
 * (`src/lib/sync/`) and the server (`server/sync/`) import. Split by concern:
 * `messages.ts` (types, close codes, limits, document names), `frames.ts` (encoders and
 * decoders), `presence.ts` (awareness states).
 */
export * from './messages.ts';
export * from './frames.ts';
export * from './presence.ts';
