/**
 * Audit anchors: checkpoints of each workspace's hash chain, kept outside the database.
 *
 * The chain (log-store.ts) proves that no entry was altered or removed *inside* it,
 * but whoever owns the database can cut entries off its end and move `audit_heads` back
 * with them: what is left is a shorter chain that verifies. Only something the database
 * owner cannot rewrite remembers how long the chain was. So after a seal advances a
 * workspace's head, the sealer appends a checkpoint to the anchor file:
 *
 *   {"v":1,"db":"<database identity>","workspace":"demo","seq":1042,"hash":"<sha256>","at":"<ISO>","mac":"<hmac>"}
 *
 * one JSON line per checkpoint, written with O_APPEND (several instances sharing a disk
 * may append to one file), at most one batch every ANCHOR_INTERVAL_MS (so one line per
 * workspace per few seconds at most while the log grows, none while it is idle), and a
 * last one at shutdown. `mac` is HMAC-SHA256 of the line without it, keyed by
 * ACCORD_AUDIT_ANCHOR_KEY, when that is set. `db` is the database's identity (migration
 * 7), so anchors of other databases written to the same file are told apart.
 *
 * `audit verify` checks every anchor of this database in the file against the log: an
 * anchored seq the log no longer has, or has with another hash, fails verification. All
 * of them, not only the newest: after a cut, sealing goes on from the shorter chain and
 * later anchors agree with it; the ones from before the cut do not. They are checked a
 * thousand per query, streaming the file, so a large file costs time, not memory.
 *
 * The file is only as good as where it lives: the database owner must not be able to
 * rewrite it (another host, WORM storage, or shipped to the log system as it is written).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { AccordConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ChainHead } from './log-store.ts';

export const ANCHOR_FILE_NAME = 'audit-anchors.jsonl';
/** At most one batch of checkpoints this often (one line per workspace in it). */
export const ANCHOR_INTERVAL_MS = 5_000;
/** Anchors checked per query when verifying. */
const CHECK_BATCH = 1_000;

export type AnchorConfig = Pick<AccordConfig, 'dataDir' | 'auditAnchorFile' | 'auditAnchorKey'>;

/** Where anchors are written and read: ACCORD_AUDIT_ANCHOR_FILE, else `<DATA_DIR>/audit-anchors.jsonl`. */
export function anchorFileOf(config: Pick<AccordConfig, 'dataDir' | 'auditAnchorFile'>): string {
	return config.auditAnchorFile ?? path.join(config.dataDir, ANCHOR_FILE_NAME);
}

export interface Checkpoint {
	v: 1;
	db: string;
	workspace: string;
	seq: number;
	hash: string;
	at: string;
	mac?: string;
}

/** The signed part of a checkpoint, in a fixed order: one text for one checkpoint. */
function signedText(c: Omit<Checkpoint, 'mac'>): string {
	return JSON.stringify({ v: c.v, db: c.db, workspace: c.workspace, seq: c.seq, hash: c.hash, at: c.at });
}

const macOf = (c: Omit<Checkpoint, 'mac'>, key: string): string => createHmac('sha256', key).update(signedText(c)).digest('hex');

/** A checkpoint of `head`, signed when there is a key. */
export function checkpointOf(db: string, head: ChainHead, at: Date, key: string | undefined): Checkpoint {
	const c: Checkpoint = { v: 1, db, workspace: head.workspace, seq: head.seq, hash: head.hash, at: at.toISOString() };
	return key ? { ...c, mac: macOf(c, key) } : c;
}

/** One line of the anchor file. */
export function checkpointLine(c: Checkpoint): string {
	return `${c.mac ? JSON.stringify({ ...JSON.parse(signedText(c)), mac: c.mac }) : signedText(c)}\n`;
}

/** What the writer needs of the audit store. */
export interface AnchorSource {
	heads(): Promise<ChainHead[]>;
	identity(): Promise<string>;
}

/**
 * Appends checkpoints as the sealer advances heads. `advanced()` after a seal that
 * sealed something, `write()` after every turn (it writes only when due), `write(true)`
 * at shutdown.
 */
export class AnchorWriter {
	private readonly file: string;
	private dirty = false;
	private lastWrite = 0;
	/** The last head anchored per workspace: an unchanged one is not anchored again. */
	private readonly anchored = new Map<string, string>();
	private db: string | null = null;
	private failing = false;

	constructor(
		private readonly source: AnchorSource,
		private readonly config: AnchorConfig,
		private readonly log: Logger,
		private readonly intervalMs = ANCHOR_INTERVAL_MS
	) {
		this.file = anchorFileOf(config);
	}

	/** Some head may have moved. */
	advanced(): void {
		this.dirty = true;
	}

	async write(now = false): Promise<void> {
		if (!this.dirty || (!now && Date.now() - this.lastWrite < this.intervalMs)) return;
		try {
			this.db ??= await this.source.identity();
			const at = new Date();
			const lines: string[] = [];
			const written = new Map<string, string>();
			for (const head of await this.source.heads()) {
				const key = `${head.seq}:${head.hash}`;
				if (this.anchored.get(head.workspace) === key) continue;
				lines.push(checkpointLine(checkpointOf(this.db, head, at, this.config.auditAnchorKey)));
				written.set(head.workspace, key);
			}
			if (lines.length > 0) {
				await mkdir(path.dirname(this.file), { recursive: true });
				// One write, opened with O_APPEND: lines of several instances interleave whole.
				await appendFile(this.file, lines.join(''), { flag: 'a' });
			}
			for (const [workspace, key] of written) this.anchored.set(workspace, key);
			this.dirty = false;
			this.lastWrite = Date.now();
			if (this.failing) this.log.info('writing audit anchors works again', { file: this.file });
			this.failing = false;
		} catch (error) {
			// Sealing goes on; the next turn tries again with the heads as they are then.
			if (!this.failing) this.log.warn('writing audit anchors failed; will retry', { file: this.file, error: (error as Error).message });
			this.failing = true;
		}
	}
}

/* ------------------------------------------------------------------ verifying */

/** What checking needs of the audit store. */
export interface AnchorChecks {
	identity(): Promise<string>;
	entryHashes(workspace: string, seqs: readonly number[]): Promise<{ hashes: Map<number, string>; lastSeq: number }>;
}

/** An anchor as checked: from the file, or given by hand (`--anchor SEQ:HASH`). */
export interface Anchor {
	workspace: string;
	seq: number;
	hash: string;
	/** When it was written; null when given by hand. */
	at: string | null;
}

/** `SEQ:HASH` as given on the command line; null if it is not one. */
export function parseAnchor(text: string, workspace: string): Anchor | null {
	const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text.trim());
	return match ? { workspace, seq: Number(match[1]), hash: match[2], at: null } : null;
}

/** One workspace's anchors: how many were checked, the newest that holds, and the failing one with the highest seq (with why). */
export interface WorkspaceAnchors {
	checked: number;
	newest: Anchor | null;
	failed: number;
	worst: { anchor: Anchor; reason: string } | null;
}

export interface AnchorReport {
	workspaces: Map<string, WorkspaceAnchors>;
	/** Whether the anchor file was there and read. */
	fileRead: boolean;
	/** Said to the operator; none of them fails verification. */
	warnings: string[];
}

const short = (hash: string) => `${hash.slice(0, 12)}…`;

function named(anchor: Anchor): string {
	return `anchor seq ${anchor.seq} (hash ${short(anchor.hash)}, ${anchor.at ? `written at ${anchor.at}` : 'given by hand'})`;
}

/**
 * Checks anchors against the log: every anchor of this database in `file` (for the
 * workspace `only`, or all), and those given by hand. A missing or unreadable file is a
 * warning: the chain is still verified, its end just is not anchored.
 */
export async function checkAnchors(
	store: AnchorChecks,
	options: { file: string; key?: string; only?: string; byHand?: readonly Anchor[] }
): Promise<AnchorReport> {
	const report: AnchorReport = { workspaces: new Map(), fileRead: false, warnings: [] };
	const pending = new Map<string, Anchor[]>();
	const entry = (workspace: string) => {
		let found = report.workspaces.get(workspace);
		if (!found) report.workspaces.set(workspace, (found = { checked: 0, newest: null, failed: 0, worst: null }));
		return found;
	};
	const check = async (workspace: string, anchors: Anchor[]) => {
		const { hashes, lastSeq } = await store.entryHashes(workspace, [...new Set(anchors.map((a) => a.seq))]);
		const result = entry(workspace);
		for (const anchor of anchors) {
			result.checked++;
			const now = hashes.get(anchor.seq);
			let reason: string | null = null;
			if (now === undefined) {
				reason =
					lastSeq < anchor.seq
						? `the log ends at entry ${lastSeq}, so entries after ${lastSeq} up to at least ${anchor.seq} are missing or rewritten (cut off the end of the log)`
						: `the log has no entry ${anchor.seq}: entries at or before it are missing or rewritten`;
			} else if (now !== anchor.hash) {
				reason = `entry ${anchor.seq} now has hash ${short(now)}: the log was rewritten at or before entry ${anchor.seq}, and entries after it are missing or rewritten`;
			}
			if (reason === null) {
				if (!result.newest || anchor.seq >= result.newest.seq) result.newest = anchor;
			} else {
				result.failed++;
				if (!result.worst || anchor.seq >= result.worst.anchor.seq) result.worst = { anchor, reason };
			}
		}
	};
	const add = async (anchor: Anchor) => {
		let list = pending.get(anchor.workspace);
		if (!list) pending.set(anchor.workspace, (list = []));
		list.push(anchor);
		if (list.length >= CHECK_BATCH) {
			pending.delete(anchor.workspace);
			await check(anchor.workspace, list);
		}
	};

	for (const anchor of options.byHand ?? []) await add(anchor);

	const db = await store.identity();
	let lines = 0;
	let unsigned = 0;
	let malformed = 0;
	let signedWithoutKey = false;
	try {
		const input = createReadStream(options.file, { encoding: 'utf8' });
		// Opening errors (no file) surface here, before reading.
		await new Promise<void>((resolve, reject) => {
			input.once('open', () => resolve());
			input.once('error', reject);
		});
		for await (const line of createInterface({ input, crlfDelay: Infinity })) {
			if (line.trim() === '') continue;
			lines++;
			const c = readCheckpoint(line);
			if (!c) {
				malformed++;
				continue;
			}
			if (c.db !== db || (options.only !== undefined && c.workspace !== options.only)) continue;
			if (options.key) {
				if (!c.mac || !sameMac(c.mac, macOf(c, options.key))) {
					unsigned++;
					continue;
				}
			} else if (c.mac) signedWithoutKey = true;
			await add({ workspace: c.workspace, seq: c.seq, hash: c.hash, at: c.at });
		}
		report.fileRead = true;
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		report.warnings.push(
			`${code === 'ENOENT' ? 'no audit anchor file at' : 'the audit anchor file could not be read at'} ${options.file}` +
				`${code === 'ENOENT' ? '' : ` (${(error as Error).message})`}: the end of the log is not anchored here, so entries cut off its end` +
				' would go unnoticed. Point ACCORD_AUDIT_ANCHOR_FILE at the anchors, or give one with --anchor SEQ:HASH.'
		);
	}
	for (const [workspace, list] of pending) await check(workspace, list);

	if (malformed > 0) report.warnings.push(`${malformed} ${malformed === 1 ? 'line' : 'lines'} of ${options.file} could not be read as anchors and ${malformed === 1 ? 'was' : 'were'} ignored.`);
	if (unsigned > 0) {
		report.warnings.push(
			`${unsigned} ${unsigned === 1 ? 'line' : 'lines'} of ${options.file} for this database ${unsigned === 1 ? 'has' : 'have'} no valid signature (ACCORD_AUDIT_ANCHOR_KEY) and ${unsigned === 1 ? 'was' : 'were'} ignored.`
		);
	}
	if (signedWithoutKey) report.warnings.push(`the anchors in ${options.file} are signed, but ACCORD_AUDIT_ANCHOR_KEY is not set: their signatures were not checked.`);
	if (lines > 0 && report.workspaces.size === 0 && !options.byHand?.length) {
		report.warnings.push(`${options.file} holds no anchor of this database (identity ${db})${options.only ? ` for workspace ${options.only}` : ''}.`);
	}
	return report;
}

function sameMac(a: string, b: string): boolean {
	const x = Buffer.from(a, 'utf8');
	const y = Buffer.from(b, 'utf8');
	return x.length === y.length && timingSafeEqual(x, y);
}

function readCheckpoint(line: string): Checkpoint | null {
	let value: unknown;
	try {
		value = JSON.parse(line);
	} catch {
		return null;
	}
	if (value === null || typeof value !== 'object') return null;
	const c = value as Record<string, unknown>;
	if (c.v !== 1 || typeof c.db !== 'string' || typeof c.workspace !== 'string' || typeof c.hash !== 'string' || typeof c.at !== 'string') return null;
	if (typeof c.seq !== 'number' || !Number.isInteger(c.seq) || c.seq < 1 || !/^[0-9a-f]{64}$/.test(c.hash)) return null;
	if (c.mac !== undefined && typeof c.mac !== 'string') return null;
	return { v: 1, db: c.db, workspace: c.workspace, seq: c.seq, hash: c.hash, at: c.at, ...(typeof c.mac === 'string' ? { mac: c.mac } : {}) };
}

/** The lines `audit verify` prints for one workspace's anchors: `ok` to stdout, otherwise to stderr (and exit 1). */
export function anchorVerdict(workspace: string, result: WorkspaceAnchors): { ok: boolean; text: string } {
	if (result.worst) {
		const { anchor, reason } = result.worst;
		const others = result.failed > 1 ? ` (${result.failed} of ${result.checked} anchors fail)` : '';
		return { ok: false, text: `Workspace ${workspace}: ${named(anchor)} does not hold: ${reason}${others}.\n` };
	}
	const newest = result.newest;
	return { ok: true, text: `Workspace ${workspace}: ${result.checked} ${result.checked === 1 ? 'anchor holds' : 'anchors hold'}${newest ? `, the newest ${named(newest)}` : ''}.\n` };
}
