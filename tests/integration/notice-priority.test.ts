/**
 * A record changed by someone else while this device is still catching up reaches the
 * local copy (and so the list and the board) at once, not after the rest of the
 * workspace: the background sync (src/lib/sync/workspace-sync.ts) puts a noticed record
 * ahead of the catch-up it has queued. A freshly loaded page on a large workspace may
 * have hundreds of records to go; before, a notice for one of them was dropped as
 * "already queued" and the change showed only when the catch-up reached it.
 *
 * The link is made slow on purpose (each frame the client sends waits a few ms), so the
 * catch-up takes seconds whatever the machine's speed, and the order is what is tested,
 * not a time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import WebSocket from 'ws';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { SyncClient, type SocketLike } from '../../src/lib/sync/client.ts';
import { WorkspaceSync } from '../../src/lib/sync/workspace-sync.ts';
import { memoryStore } from '../../src/lib/local/memory.ts';
import { rowOfDoc } from '../../src/lib/local/index.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir, tokenFor } from '../support/server.ts';

const RECORDS = 200;
const SEND_DELAY_MS = 15;

/** A `ws` socket whose outgoing frames each wait SEND_DELAY_MS (in order): a slow uplink. */
class SlowUplink implements SocketLike {
	private readonly socket: WebSocket;
	private queue = Promise.resolve();

	constructor(url: string) {
		this.socket = new WebSocket(url);
	}
	get binaryType(): string {
		return this.socket.binaryType;
	}
	set binaryType(value: string) {
		this.socket.binaryType = value as WebSocket['binaryType'];
	}
	get readyState(): number {
		return this.socket.readyState;
	}
	set onopen(handler: SocketLike['onopen']) {
		this.socket.onopen = handler;
	}
	get onopen(): SocketLike['onopen'] {
		return this.socket.onopen as SocketLike['onopen'];
	}
	set onclose(handler: SocketLike['onclose']) {
		this.socket.onclose = handler;
	}
	get onclose(): SocketLike['onclose'] {
		return this.socket.onclose as SocketLike['onclose'];
	}
	set onerror(handler: SocketLike['onerror']) {
		this.socket.onerror = handler;
	}
	get onerror(): SocketLike['onerror'] {
		return this.socket.onerror as SocketLike['onerror'];
	}
	set onmessage(handler: SocketLike['onmessage']) {
		this.socket.onmessage = handler;
	}
	get onmessage(): SocketLike['onmessage'] {
		return this.socket.onmessage as SocketLike['onmessage'];
	}
	send(data: Uint8Array): void {
		this.queue = this.queue.then(
			() =>
				new Promise<void>((resolve) =>
					setTimeout(() => {
						if (this.socket.readyState === WebSocket.OPEN) this.socket.send(data);
						resolve();
					}, SEND_DELAY_MS)
				)
		);
	}
	close(code?: number, reason?: string): void {
		this.socket.close(code, reason);
	}
}

describe('a noticed record during catch-up', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const ids: string[] = [];

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
		for (let i = 0; i < RECORDS; i += 20) {
			const batch = Array.from({ length: Math.min(20, RECORDS - i) }, (_, n) => createRecord(server, { name: `Notice ${i + n}`, company: `Company ${i + n}` }));
			ids.push(...(await Promise.all(batch)));
		}
	}, 120_000);

	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	it('is synced ahead of the records the catch-up still has queued', async () => {
		const local = memoryStore();
		const client = new SyncClient({
			url: `${server.url.replace(/^http/, 'ws')}/sync?token=${encodeURIComponent(tokenFor(server, 'editor'))}`,
			WebSocket: SlowUplink,
			autoConnect: false,
			local
		});
		const background = new WorkspaceSync({ client, local, workspace: server.accord.services.defaultWorkspace, rowOf: rowOfDoc, concurrency: 1, noticeDelayMs: 50, rowDelayMs: 20 });
		try {
			background.start();
			client.connect();
			await eventually(() => background.lastAnswer !== null, 'the first catch-up answer', 20_000);
			const queued = background.lastAnswer!.records;
			expect(queued.length).toBeGreaterThanOrEqual(RECORDS);
			// The record the catch-up would reach last, changed by someone else now.
			const changed = queued[queued.length - 1];
			const response = await apiFetch(`${server.url}/api/records/${changed}`, {
				method: 'PATCH',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ fields: { company: 'Changed during catch-up' } })
			});
			expect(response.status).toBe(200);

			let syncedWhenIn = -1;
			await eventually(
				async () => {
					const state = (await local.load(changed)).state;
					if (!state) return false;
					const doc = new Y.Doc();
					Y.applyUpdate(doc, state);
					if (fieldsOf(doc).get('company') !== 'Changed during catch-up') return false;
					syncedWhenIn = background.synced;
					return true;
				},
				'the changed record in the local copy',
				60_000
			);
			// In the local copy while most of the catch-up was still to come (it came last before).
			expect(syncedWhenIn).toBeLessThan(queued.length / 2);
			await background.idle();
			await eventually(async () => (await local.row(changed))?.company === 'Changed during catch-up', 'its list row');
		} finally {
			background.stop();
			client.destroy();
		}
	}, 120_000);
});
