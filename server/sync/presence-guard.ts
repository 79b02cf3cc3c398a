/**
 * Screens a presence (awareness) update from a connection before it is applied: each
 * state is stamped with who the connection signed in as, and a state is dropped when it
 * is too large, when it is another person's client id (setting it, or removing it with
 * `null`, would make them vanish or speak for them), or when the connection or the
 * document already holds as many states as it may. What is left is re-encoded; nothing
 * left means nothing to apply.
 *
 * The wire format is y-protocols' (awareness.js `encodeAwarenessUpdate`): a count, then
 * per state its client id, clock and JSON text. Decoded here, apart from the room's
 * state, so it can be tested alone and a malformed update throws before anything applies.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { SyncLimits } from './limits.ts';

export interface PresenceSender {
	/** The person behind the connection: stamped into every state it sends. */
	readonly actor: { readonly id: string; readonly name: string };
}

export interface PresenceContext {
	/** The current state of a client id in the document, if any (states are stamped, so they say whose they are). */
	stateOf(client: number): unknown;
	/** Client ids this connection holds in the document now. */
	readonly held: ReadonlySet<number>;
	/** States the document holds now. */
	readonly documentStates: number;
}

export interface ScreenedPresence {
	/** The update to apply, or null when no state in it may be applied. */
	update: Uint8Array | null;
	/** Why states were dropped, for the log (one reason per kind). */
	dropped: string[];
}

type Limits = Pick<SyncLimits, 'maxPresenceBytes' | 'maxPresencePerConnection' | 'maxPresencePerDocument'>;

const ownerOf = (state: unknown): string | undefined => {
	if (state === null || typeof state !== 'object') return undefined;
	const user = (state as { user?: unknown }).user;
	if (user === null || typeof user !== 'object') return undefined;
	const id = (user as { id?: unknown }).id;
	return typeof id === 'string' ? id : undefined;
};

/** A presence state as the server relays it: `user` is who the connection signed in as, whatever the client said. */
export function stampUser(state: unknown, sender: PresenceSender): unknown {
	if (state === null || typeof state !== 'object' || Array.isArray(state)) return state;
	const { user } = state as { user?: unknown };
	const shown = user !== null && typeof user === 'object' && !Array.isArray(user) ? user : {};
	return { ...state, user: { ...shown, id: sender.actor.id, name: sender.actor.name } };
}

/** UTF-8 length, counted only when the text could be over a limit (a character is at most 3 bytes here). */
function utf8Length(text: string): number {
	return text.length * 3 < 256 ? text.length : Buffer.byteLength(text);
}

export function screenPresence(update: Uint8Array, sender: PresenceSender, context: PresenceContext, limits: Limits): ScreenedPresence {
	const decoder = decoding.createDecoder(update);
	const count = decoding.readVarUint(decoder);
	const kept: Array<{ client: number; clock: number; json: string }> = [];
	const dropped = new Set<string>();
	let held = context.held.size;
	let states = context.documentStates;
	for (let i = 0; i < count; i++) {
		const client = decoding.readVarUint(decoder);
		const clock = decoding.readVarUint(decoder);
		const text = decoding.readVarString(decoder);
		// Checked before parsing: a megabyte of JSON is refused without being parsed.
		if (utf8Length(text) > limits.maxPresenceBytes) {
			dropped.add(`a state over ${limits.maxPresenceBytes} bytes`);
			continue;
		}
		const state: unknown = JSON.parse(text);
		const current = context.stateOf(client);
		const owner = ownerOf(current);
		if (owner !== undefined && owner !== sender.actor.id) {
			dropped.add("another person's presence");
			continue;
		}
		if (state === null) {
			kept.push({ client, clock, json: 'null' });
			continue;
		}
		const isNew = !context.held.has(client) && current === undefined;
		if (isNew && held >= limits.maxPresencePerConnection) {
			dropped.add(`more than ${limits.maxPresencePerConnection} presence states on one connection`);
			continue;
		}
		if (isNew && states >= limits.maxPresencePerDocument) {
			dropped.add(`more than ${limits.maxPresencePerDocument} presence states in one document`);
			continue;
		}
		const json = JSON.stringify(stampUser(state, sender));
		if (utf8Length(json) > limits.maxPresenceBytes) {
			dropped.add(`a state over ${limits.maxPresenceBytes} bytes`);
			continue;
		}
		if (isNew) {
			held++;
			states++;
		}
		kept.push({ client, clock, json });
	}
	if (kept.length === 0) return { update: null, dropped: [...dropped] };
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, kept.length);
	for (const { client, clock, json } of kept) {
		encoding.writeVarUint(encoder, client);
		encoding.writeVarUint(encoder, clock);
		encoding.writeVarString(encoder, json);
	}
	return { update: encoding.toUint8Array(encoder), dropped: [...dropped] };
}
