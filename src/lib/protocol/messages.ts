/**
 * Accord's wire protocol, the vocabulary: message types, close codes, the frame size
 * limit and document names. Shared by the browser (`src/lib/sync/`) and the server
 * (`server/sync/`), so both sides read the same numbers from one place.
 *
 * Two endpoints speak it:
 *
 *   /y/<recordId>  the plain y-websocket protocol for one document:
 *                  varUint(messageType) · payload
 *   /sync          many documents over one socket, each frame tagged with its document:
 *                  varString(documentName) · varUint(messageType) · payload
 *
 * Message types 0–3 are y-websocket's own (sync, awareness, auth, query-awareness);
 * 4 and up are Accord's and are only sent on /sync.
 */

export const MessageType = {
	sync: 0,
	awareness: 1,
	auth: 2,
	queryAwareness: 3,
	/** server → client: this document is refused (`code`, `reason`); the socket stays open. */
	refused: 4,
	/** server → client: `count` updates sent by this connection on this document are now stored durably. */
	saved: 5,
	/** server → client, on a workspace channel: the projection of record `id` changed. */
	recordChanged: 6,
	/** client → server: stop syncing this document on this socket. */
	close: 7,
	/**
	 * client → server, on the workspace channel: which records changed since `position`
	 * (the opaque string of an earlier `changedSince`, or empty for "everything")?
	 */
	catchUp: 8,
	/**
	 * server → client, on the workspace channel, answering `catchUp`: the records (ids)
	 * changed since the position that this person may see, those they may no longer see
	 * (`removed`), and the position to ask from next time.
	 */
	changedSince: 9,
	/**
	 * client → server, on a record, before its sync step 1: the record's whole state, for
	 * a record created on the client (offline). The server creates it if it does not exist
	 * yet and the sender may (an editor; valid `meta` and fields), then syncs it as usual.
	 */
	create: 10
} as const;

export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** WebSocket close codes the server uses, with the reason sent alongside. */
export const CloseCode = {
	normal: 1000,
	goingAway: 1001,
	invalidPayload: 1007,
	policy: 1008,
	tooBig: 1009,
	internal: 1011,
	unauthorised: 4401,
	forbidden: 4403,
	notFound: 4404
} as const;

/** Largest frame a client may send; anything larger closes its socket with 1009. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Document names on /sync: a record id, or the presence channel of a workspace. */
export const WORKSPACE_CHANNEL_PREFIX = 'workspace:';

export function workspaceChannel(workspace: string): string {
	return WORKSPACE_CHANNEL_PREFIX + workspace;
}

export function isWorkspaceChannel(name: string): boolean {
	return name.startsWith(WORKSPACE_CHANNEL_PREFIX);
}
