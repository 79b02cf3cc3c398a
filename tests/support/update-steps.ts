/**
 * What the update-step unit tests share (tests/unit/update-steps*.test.ts,
 * publish-before-commit.test.ts): a connection that keeps what it is sent and refused,
 * and the update store in memory with commits the test holds back, so what happens
 * before and after storage can be told apart. One copy, so the three files test the
 * pipeline against the same stand-ins.
 */
import type { AuditPerson, AuditSource } from '../../src/lib/model/audit.ts';
import type { Role } from '../../src/lib/access.ts';
import type { ShapeProblem } from '../../src/lib/model/shape-problems.ts';
import type { AttributedUpdate } from '../../server/audit/attributed-store.ts';
import type { Room, Peer } from '../../server/sync/room.ts';
import type { WireFrame } from '../../server/sync/outbox.ts';

/** The update store in memory, whose commits wait until `release`; updates whose key is in `elsewhere` are answered as stored by another instance (skipped). */
export class GatedUpdates {
	readonly stored: AttributedUpdate[] = [];
	readonly elsewhere = new Set<number>();
	private gate: Promise<void> = Promise.resolve();
	private open: () => void = () => {};
	private seq = 0;

	close(): void {
		this.gate = new Promise((resolve) => (this.open = resolve));
	}
	release(): void {
		this.open();
	}
	async appendUpdates(batch: readonly AttributedUpdate[]): Promise<Map<string, number>> {
		await this.gate;
		const appended = batch.filter((item) => !(item.key && this.elsewhere.has(item.key.id)));
		this.stored.push(...appended);
		return new Map(appended.map((item) => [item.documentId, ++this.seq]));
	}
}

/** A connection that keeps what it is sent and what it is refused. */
export class TestPeer implements Peer {
	private static next = 1;
	readonly id = TestPeer.next++;
	readonly actor: { id: string; name: string; role: Role };
	readonly sent: Uint8Array[] = [];
	readonly refusals: { reason: string; code: string; problems?: readonly ShapeProblem[] }[] = [];
	readonly evicted: string[] = [];

	constructor(
		person: AuditPerson,
		role: Role = 'editor',
		readonly multiplexed = false,
		readonly source: AuditSource = 'ui'
	) {
		this.actor = { ...person, role };
	}
	get canWrite(): boolean {
		return this.actor.role !== 'viewer';
	}
	send(bytes: Uint8Array): void {
		this.sent.push(bytes);
	}
	/** A frame for many peers is a whole WebSocket frame (outbox.ts): kept here as its payload, as the client reads it. */
	sendFrame(frame: WireFrame): void {
		const length = frame[1] & 0x7f;
		this.sent.push(new Uint8Array(frame.subarray(length === 126 ? 4 : length === 127 ? 10 : 2)));
	}
	refuseWrite(_room: Room, reason: string, code = 'read-only', problems?: readonly ShapeProblem[]): void {
		this.refusals.push({ reason, code, problems });
	}
	evict(documentName: string): void {
		this.evicted.push(documentName);
	}
}
