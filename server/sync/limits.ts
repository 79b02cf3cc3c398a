/**
 * The bounds on what one outsider can make the server hold: every queue, buffer and
 * state a socket can grow has a limit here, with its default and the environment
 * variable that changes it (read in server/config.ts, listed in the README's security
 * section). Anything past a limit is dropped, paused or closed for that socket alone.
 */
export interface SyncLimits {
	/** Largest presence (awareness) state of one client, as JSON bytes; larger states are not applied or relayed. */
	maxPresenceBytes: number;
	/** Presence client ids one connection may hold in one document (a tab has one). */
	maxPresencePerConnection: number;
	/** Presence states one document (or workspace channel) holds at most; newcomers past it are not shown. */
	maxPresencePerDocument: number;
	/** Bytes waiting to be written to one socket; past this the client is not reading and its socket is closed. */
	maxOutgoingBytes: number;
	/** A query for everyone's presence is answered at most once per this interval per connection and document. */
	awarenessQueryIntervalMs: number;
	/** Messages of one connection received and not yet handled; past this the socket is not read until they are. */
	maxQueuedMessages: number;
	/**
	 * Updates applied and waiting to be stored, over the whole instance; past this no
	 * socket's messages are read until the writer has stored half of them (storage slower
	 * than the edits coming in must not become memory). 0: no bound.
	 */
	maxPendingWrites: number;
	/**
	 * How often each socket is pinged; one that has not answered the previous ping is
	 * closed (a peer gone without a word). Skipped while the server itself is not reading
	 * the socket (the two bounds above): the answer cannot be read then.
	 */
	pingIntervalMs: number;
}

export const DEFAULT_SYNC_LIMITS: Readonly<SyncLimits> = {
	maxPresenceBytes: 8 * 1024,
	maxPresencePerConnection: 4,
	maxPresencePerDocument: 1_000,
	maxOutgoingBytes: 16 * 1024 * 1024,
	awarenessQueryIntervalMs: 1_000,
	maxQueuedMessages: 256,
	maxPendingWrites: 20_000,
	pingIntervalMs: 30_000
};
