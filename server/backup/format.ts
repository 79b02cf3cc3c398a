/**
 * The backup file's layout, shared by the writer (dump.ts) and the reader (restore.ts).
 *
 *   bytes 0..4095   the header: "ACCORD-BACKUP\n", one line of JSON (format and schema
 *                   versions, time, engine, row counts, SHA-256 and length of the content,
 *                   encryption parameters), padded with spaces, ending in "\n". Readable
 *                   with `head -c 4096`, and never encrypted: it says how to read the rest.
 *   bytes 4096..    the content: JSON lines (body.ts), gzip-compressed, then encrypted with
 *                   AES-256-GCM when a key is configured.
 *
 * The header sits at a fixed size so the writer can stream the content first and write
 * the header last, once the content's checksum and the cipher's tag are known.
 */
import { keyId, type DataKeyRing } from '../crypto/data-key.ts';

/** Backups name their key as stored values do (one derivation, server/crypto/data-key.ts). */
export { keyId };

export const BACKUP_FORMAT = 1;
export const HEADER_BYTES = 4096;
const MAGIC = 'ACCORD-BACKUP\n';
/** Backups written by the scheduler and the server are named so, and only such names are pruned. */
export const BACKUP_FILE_PATTERN = /^accord-backup-\d{8}T\d{6}(?:\d{3})?Z\.accordbackup$/;

export interface BackupEncryption {
	algorithm: 'aes-256-gcm';
	/** Names the key without revealing it (see keyId), so a restore can say which key it needs. */
	keyId: string;
	/** base64 */
	iv: string;
	/** base64: GCM's authentication tag over the whole content. */
	tag: string;
}

export interface BackupHeader {
	format: typeof BACKUP_FORMAT;
	/** The highest migration applied to the database it was taken from (server/store/migrations.ts). */
	schemaVersion: number;
	createdAt: string;
	engine: 'pglite' | 'postgres';
	compression: 'gzip';
	encryption: BackupEncryption | null;
	/** Bytes of content after the header, and their SHA-256 (hex): a truncated or damaged file is told apart before anything is restored. */
	contentBytes: number;
	contentSha256: string;
	/** Rows per table, as the snapshot held them. */
	tables: { name: string; rows: number }[];
}

/** The header as bytes: exactly HEADER_BYTES long. */
export function encodeHeader(header: BackupHeader): Buffer {
	const text = `${MAGIC}${JSON.stringify(header)}`;
	const bytes = Buffer.from(text, 'utf8');
	if (bytes.length > HEADER_BYTES - 1) throw new Error(`the backup header is ${bytes.length} bytes, more than the ${HEADER_BYTES - 1} it has room for (too many tables?)`);
	const block = Buffer.alloc(HEADER_BYTES, 0x20);
	bytes.copy(block);
	block[HEADER_BYTES - 1] = 0x0a;
	return block;
}

/** A file that is not a backup, or whose header cannot be read: the message says which, for a person. */
export class BackupFileError extends Error {
	override readonly name = 'BackupFileError';
}

export function decodeHeader(block: Buffer): BackupHeader {
	if (block.length < HEADER_BYTES || block.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) {
		throw new BackupFileError('This is not an Accord backup file (it does not start with the ACCORD-BACKUP header), or it was cut off before its header ended.');
	}
	const line = block.subarray(MAGIC.length, HEADER_BYTES).toString('utf8').trimEnd();
	let header: unknown;
	try {
		header = JSON.parse(line);
	} catch {
		throw new BackupFileError('The backup file\'s header is damaged (its JSON does not parse); the file cannot be trusted.');
	}
	if (!isHeader(header)) throw new BackupFileError('The backup file\'s header is damaged or incomplete (a field is missing or of the wrong type).');
	if (header.format !== BACKUP_FORMAT) throw new BackupFileError(`This backup is in format ${String(header.format)}; this version of Accord reads format ${BACKUP_FORMAT}.`);
	return header;
}

function isHeader(value: unknown): value is BackupHeader {
	if (!value || typeof value !== 'object') return false;
	const h = value as Record<string, unknown>;
	const encryption = h.encryption as Record<string, unknown> | null;
	return (
		typeof h.format === 'number' &&
		Number.isInteger(h.schemaVersion) &&
		typeof h.createdAt === 'string' &&
		(h.engine === 'pglite' || h.engine === 'postgres') &&
		h.compression === 'gzip' &&
		Number.isSafeInteger(h.contentBytes) &&
		typeof h.contentSha256 === 'string' &&
		/^[0-9a-f]{64}$/.test(h.contentSha256) &&
		Array.isArray(h.tables) &&
		h.tables.every((t: unknown) => !!t && typeof (t as { name: unknown }).name === 'string' && Number.isSafeInteger((t as { rows: unknown }).rows)) &&
		(encryption === null ||
			(typeof encryption === 'object' &&
				encryption.algorithm === 'aes-256-gcm' &&
				typeof encryption.keyId === 'string' &&
				typeof encryption.iv === 'string' &&
				typeof encryption.tag === 'string'))
	);
}


/** `accord-backup-20261207T031500123Z.accordbackup` for a time. */
export function backupFileName(at: Date): string {
	const stamp = at.toISOString().replace(/[-:.]/g, '');
	return `accord-backup-${stamp}.accordbackup`;
}

/**
 * The key backups are written with: the newest of the configured ring (`backupKeys`:
 * ACCORD_BACKUP_KEY, else the data keys, ACCORD_DATA_KEY or its file); undefined: none.
 */
export function backupWriteKey(ring: DataKeyRing | null): Buffer | undefined {
	return ring?.newest.key;
}

/**
 * The key to read a backup with: the ring's key of the id the header names, so a backup
 * taken before a rotation restores while its key is still listed; otherwise the newest
 * (and the restore refuses, naming both ids).
 */
export function backupReadKey(ring: DataKeyRing | null, header: BackupHeader): Buffer | undefined {
	if (!ring) return undefined;
	return (header.encryption && ring.get(header.encryption.keyId)?.key) || ring.newest.key;
}
