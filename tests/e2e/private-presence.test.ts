/**
 * A private record must not exist to those who may not see it, and that includes the
 * workspace's presence: an admin with a private record open must not announce its id on
 * the workspace channel, where everyone in the workspace listens. Alice (admin) opens a
 * private record, then a shared one, in a real browser; an editor's `/sync` socket on the
 * workspace channel hears the shared id and never the private one.
 */
import { describe, expect, it } from 'vitest';
import { workspaceChannel } from '../../src/lib/protocol/index.ts';
import { apiFetch, createRecord, eventually } from '../support/server.ts';
import { useServerAndBrowser } from '../support/server-and-browser.ts';
import { pageAs } from '../support/sign-in.ts';
import { syncClient } from '../support/sync-client.ts';

describe('presence and private records', () => {
	const env = useServerAndBrowser();

	it("does not announce a private record's id in the workspace's presence", async () => {
		const { server, browser } = env;
		const hidden = await createRecord(server, { name: 'Private Holdings' });
		const shared = await createRecord(server, { name: 'Shared Trading' });
		const made = await apiFetch(`${server.url}/api/records/${hidden}/private`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"private":true}' }, 'admin');
		expect(made.status).toBe(200);

		// The editor listens on the workspace channel, as every tab does.
		const channel = workspaceChannel(server.accord.services.defaultWorkspace);
		const listener = syncClient(server, 'editor');
		await listener.ready;
		listener.queryAwareness(channel);
		const viewed = () => new Set(listener.presence(channel).map(({ state }) => (state as { viewing?: string | null } | null)?.viewing));

		const alice = await pageAs(browser, server, 'alice');
		await alice.goto(`${server.url}/records/${hidden}`);
		await alice.waitForSelector('[data-testid="record-page"][data-live="true"]', { timeout: 30_000 });
		await alice.goto(`${server.url}/records/${shared}`);
		await alice.waitForSelector('[data-testid="record-page"][data-live="true"]', { timeout: 30_000 });
		await eventually(() => viewed().has(shared), "the shared record's id in the workspace presence", 15_000);
		expect(viewed().has(hidden)).toBe(false);
		listener.disconnect();
	});
});
