/**
 * Accord's wire protocol, presence: the shape of the awareness states that browsers
 * publish on records and on workspace channels. The server relays them untouched; the
 * browser's components read them, so the type lives with the protocol both share.
 */

/** Presence carried in awareness states, on records and on workspace channels alike. */
export interface PresenceUser {
	id: string;
	name: string;
	color: string;
	colorLight: string;
}

export interface PresenceState {
	user: PresenceUser;
	/** On a record: the field that has focus (`fields.company`, `notes`, …). */
	field?: string | null;
	/** On a workspace channel: the record open in this tab. */
	viewing?: string | null;
}
