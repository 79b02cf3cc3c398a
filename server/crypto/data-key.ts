/**
 * Encryption at rest: the data key ring and the one codec every stored document byte and
 * audit value goes through (AES-256-GCM, node:crypto).
 *
 * Why one module: the store seals on the way into the database and opens on the way out,
 * at a handful of places (server/store/sql-store.ts, server/audit/staging.ts and log-store.ts, analytics-store.ts);
 * rotation (server/keys/rotate.ts) and the start-up check read the same headers. Keeping
 * the format in one file keeps those places to one call each.
 *
 * Keys: ACCORD_DATA_KEY (or the file ACCORD_DATA_KEY_FILE names) lists one or more keys,
 * each 32 random bytes in base64, separated by commas or white space, optionally written
 * `id:base64` (as `keys new` prints them). A key's id is derived from the key itself
 * (keyId: 16 hex digits of a SHA-256), so an id can never name two keys; a written id
 * must match the derived one, which catches a key copied incompletely. The LAST key is
 * the newest: new values are sealed with it; the others only open older values.
 *
 * One sealed value (bytes):
 *   0..2   magic AC C0 DE      tells a sealed value from a plain Yjs update (see isSealed)
 *   3      format version (1)
 *   4..11  key id (8 bytes; its hex is the id in messages and ACCORD_DATA_KEY)
 *   12..23 GCM nonce (random, 96 bits)
 *   24..   ciphertext, then the 16-byte GCM tag
 * 40 bytes more than the plain value.
 *
 * The ring is process-wide (installDataKeys), like the log level: one process serves one
 * database (DESIGN.md), and passing it down would thread a parameter through every
 * function of other modules that reads or writes a document's bytes.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const KEY_BYTES = 32;
const MAGIC = [0xac, 0xc0, 0xde] as const;
const VERSION = 1;
const ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + 1 + ID_BYTES + NONCE_BYTES;
/** Bytes a sealed value has beyond its plain form. */
export const SEAL_OVERHEAD = HEADER_BYTES + TAG_BYTES;
/** The header's first 4 bytes (magic and version), as SQL compares them. */
export const SEALED_PREFIX = Buffer.from([...MAGIC, VERSION]);

export interface DataKey {
	/** 16 hex digits, derived from the key (keyId). */
	readonly id: string;
	readonly key: Buffer;
}

export interface DataKeyRing {
	/** Oldest first, as configured. */
	readonly keys: readonly DataKey[];
	/** The last one configured: what new values are sealed with. */
	readonly newest: DataKey;
	get(id: string): DataKey | undefined;
}

/** Refusals a person has to act on (a wrong, missing or malformed key); the message says what to do. */
export class DataKeyError extends Error {
	override readonly name = 'DataKeyError';
}

/**
 * A key's id: the first 16 hex digits of SHA-256 over a fixed label and the key. Names a
 * key in value headers, backup headers and messages without revealing it. (The label says
 * "backup" because backups named keys this way first; their files keep their ids.)
 */
export function keyId(key: Buffer): string {
	return createHash('sha256').update('accord backup key id\0').update(key).digest('hex').slice(0, 16);
}

/** One key as `keys new` prints it: `id:base64`. */
export function formatDataKey(key: Buffer): string {
	return `${keyId(key)}:${key.toString('base64')}`;
}

/** A fresh key, 32 bytes from the system's random source. */
export function newDataKey(): Buffer {
	return randomBytes(KEY_BYTES);
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `name` names the variable in messages (ACCORD_DATA_KEY, ACCORD_BACKUP_KEY…). */
export function parseDataKeys(text: string, name = 'ACCORD_DATA_KEY'): DataKeyRing {
	const parts = text.trim().split(/[\s,;]+/).filter(Boolean);
	if (parts.length === 0) throw new DataKeyError(`${name} is empty: give one or more keys (npm run accord -- keys new prints one).`);
	const keys: DataKey[] = [];
	parts.forEach((part, index) => {
		const colon = part.indexOf(':');
		const written = colon >= 0 ? part.slice(0, colon) : null;
		const encoded = colon >= 0 ? part.slice(colon + 1) : part;
		const key = BASE64.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
		if (key.length !== KEY_BYTES) {
			throw new DataKeyError(
				`${name}: key ${index + 1} of ${parts.length} is not 32 bytes in base64 (it decodes to ${key.length} bytes). Make one with: npm run accord -- keys new`
			);
		}
		const id = keyId(key);
		if (written !== null && written.toLowerCase() !== id) {
			throw new DataKeyError(`${name}: key ${index + 1} is written with id ${written}, but its id is ${id}: the key was copied incompletely or belongs to another id.`);
		}
		if (keys.some((k) => k.id === id)) throw new DataKeyError(`${name}: key ${id} is listed twice.`);
		keys.push({ id, key });
	});
	const byId = new Map(keys.map((k) => [k.id, k]));
	return { keys, newest: keys[keys.length - 1], get: (id) => byId.get(id) };
}

/**
 * The ring the environment configures: ACCORD_DATA_KEY, or the file ACCORD_DATA_KEY_FILE
 * names (a secret mounted by the orchestrator); null when neither is set.
 */
export function readDataKeys(env: NodeJS.ProcessEnv): DataKeyRing | null {
	const inline = env.ACCORD_DATA_KEY?.trim();
	const file = env.ACCORD_DATA_KEY_FILE?.trim();
	if (inline && file) throw new DataKeyError('Set ACCORD_DATA_KEY or ACCORD_DATA_KEY_FILE, not both.');
	if (inline) return parseDataKeys(inline, 'ACCORD_DATA_KEY');
	if (!file) return null;
	let text: string;
	try {
		text = readFileSync(file, 'utf8');
	} catch (error) {
		throw new DataKeyError(`ACCORD_DATA_KEY_FILE names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
	}
	return parseDataKeys(text, `ACCORD_DATA_KEY_FILE (${file})`);
}

/* ------------------------------------------------------------------ the process's ring */

let installed: DataKeyRing | null = null;

/** Sets the ring this process seals and opens with (null: store plain values, open none). */
export function installDataKeys(ring: DataKeyRing | null): void {
	installed = ring;
}

export function installedDataKeys(): DataKeyRing | null {
	return installed;
}

/* ------------------------------------------------------------------ bytes */

/**
 * Whether stored bytes are a sealed value. A plain Yjs update starts with the number of
 * clients it holds structs of, as a variable-length integer; AC C0 DE 01 would be about
 * 3.6 million clients, which no update or snapshot of a record holds (and an update that
 * big is refused long before: ACCORD_MAX_MESSAGE_BYTES).
 */
export function isSealed(value: Uint8Array): boolean {
	return value.length >= SEAL_OVERHEAD && value[0] === MAGIC[0] && value[1] === MAGIC[1] && value[2] === MAGIC[2] && value[3] === VERSION;
}

/** The id of the key a sealed value was sealed with; null for a plain value. */
export function sealedKeyId(value: Uint8Array): string | null {
	return isSealed(value) ? Buffer.from(value.buffer, value.byteOffset + 4, ID_BYTES).toString('hex') : null;
}

export function sealWith(key: DataKey, plain: Uint8Array): Uint8Array {
	const nonce = randomBytes(NONCE_BYTES);
	const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
	const out = Buffer.allocUnsafe(SEAL_OVERHEAD + plain.length);
	SEALED_PREFIX.copy(out, 0);
	out.write(key.id, 4, 'hex');
	nonce.copy(out, 12);
	const body = cipher.update(plain);
	body.copy(out, HEADER_BYTES);
	const final = cipher.final();
	final.copy(out, HEADER_BYTES + body.length);
	cipher.getAuthTag().copy(out, HEADER_BYTES + body.length + final.length);
	return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Opens a sealed value with the ring; throws DataKeyError naming the key when it is missing or the value does not authenticate. */
export function openWith(ring: DataKeyRing | null, sealed: Uint8Array): Uint8Array {
	const id = sealedKeyId(sealed);
	if (id === null) throw new DataKeyError('not a sealed value');
	const key = ring?.get(id);
	if (!key) {
		throw new DataKeyError(
			ring
				? `a stored value is encrypted with data key ${id}, which ACCORD_DATA_KEY does not hold (it holds ${ring.keys.map((k) => k.id).join(', ')})`
				: `a stored value is encrypted with data key ${id}, and no ACCORD_DATA_KEY is set`
		);
	}
	const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
	const decipher = createDecipheriv('aes-256-gcm', key.key, bytes.subarray(12, HEADER_BYTES));
	decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
	try {
		const plain = Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
		return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
	} catch {
		throw new DataKeyError(`a stored value does not decrypt with data key ${id} (AES-GCM authentication failed): the value was altered or damaged`);
	}
}

/** Stored form of document bytes (a Yjs update or snapshot): sealed with the newest key when a ring is installed. */
export function sealBytes(plain: Uint8Array): Uint8Array {
	return installed ? sealWith(installed.newest, plain) : plain;
}

/** Plain form of stored document bytes: sealed ones opened, plain ones (written before a key was set) as they are. */
export function openBytes(stored: Uint8Array): Uint8Array {
	return isSealed(stored) ? openWith(installed, stored) : stored;
}

/* ------------------------------------------------------------------ audit values (jsonb) */

/**
 * Audit places whose values stay readable in the database, by choice: the dashboard's SQL
 * reads stage changes (`fields.stage`) from the log, and `private` is a flag. Neither
 * says anything about a person; both are also columns of the record's list row.
 */
export const CLEAR_AUDIT_PATHS: ReadonlySet<string> = new Set(['fields.stage', 'private']);

/**
 * In a jsonb column, a sealed value is a JSON string: U+0001 then the sealed bytes in
 * base64. A plain string value that itself starts with U+0001 is stored with one more
 * U+0001 in front, so nothing a person types can pass for a sealed value.
 */
const MARK = '\u0001';

/** The JSON text to store for an audit value at `path` (null for none), sealed unless the path is kept clear or no key is set. */
export function storedAuditJson(value: unknown, path: string): string | null {
	if (value === null || value === undefined) return null;
	const text = JSON.stringify(value);
	if (installed && !CLEAR_AUDIT_PATHS.has(path)) {
		return JSON.stringify(MARK + Buffer.from(sealWith(installed.newest, Buffer.from(text, 'utf8'))).toString('base64'));
	}
	return typeof value === 'string' && value.startsWith(MARK) ? JSON.stringify(MARK + value) : text;
}

/** The sealed bytes inside a stored audit value, or null when it holds a plain value. */
export function sealedAuditBytes(stored: unknown): Uint8Array | null {
	if (typeof stored !== 'string' || !stored.startsWith(MARK) || stored.startsWith(MARK + MARK)) return null;
	const bytes = Buffer.from(stored.slice(1), 'base64');
	return isSealed(bytes) ? bytes : null;
}

/** An audit value as read from its jsonb column, back to what was written. */
export function openAuditValue<T>(stored: T): T {
	if (typeof stored !== 'string' || !stored.startsWith(MARK)) return stored;
	if (stored.startsWith(MARK + MARK)) return stored.slice(1) as T;
	const sealed = sealedAuditBytes(stored);
	// A string that starts with the mark and was stored before values were marked: as it is.
	if (!sealed) return stored;
	return JSON.parse(Buffer.from(openWith(installed, sealed)).toString('utf8')) as T;
}

/* ------------------------------------------------------------------ text columns */

/**
 * For text columns that hold a record's JSON (undo data of merges and imports): the
 * stored form, sealed when a ring is installed (U+0001 and base64, as audit values are).
 */
export function sealText(text: string): string {
	if (!installed) return text.startsWith(MARK) ? MARK + text : text;
	return MARK + Buffer.from(sealWith(installed.newest, Buffer.from(text, 'utf8'))).toString('base64');
}

/** The text a sealText column holds, opened. */
export function openText(stored: string): string {
	if (!stored.startsWith(MARK)) return stored;
	if (stored.startsWith(MARK + MARK)) return stored.slice(1);
	const sealed = sealedAuditBytes(stored);
	return sealed ? Buffer.from(openWith(installed, sealed)).toString('utf8') : stored;
}
