/**
 * The workspace presence channel of this tab: who is online, which record each of
 * them has open (`viewing`), and the server's `recordChanged` notices. The root layout
 * joins it once; pages set `viewing` and listen for changes. Calls made before the
 * layout joins (children mount first) are kept and applied on join.
 */
import { untrack } from 'svelte';
import { workspaceChannel, type PresenceUser } from '../protocol/index.ts';
import type { DocHandle } from './client.ts';
import { LivePresence, startLocal, syncClient } from './status.svelte.ts';

class WorkspacePresence {
	/** Null until joined (and during server rendering). */
	presence = $state<LivePresence | null>(null);
	private handle: DocHandle | null = null;
	private offRecordChanged: (() => void) | null = null;
	private viewing: string | null = null;
	private readonly listeners = new Set<(recordId: string) => void>();

	/** Joins the workspace's channel as `user`; returns the function that leaves it. */
	join(workspace: string, user: PresenceUser): () => void {
		// Called from effects: reading and replacing our own state must not subscribe them to it.
		return untrack(() => this.joinUntracked(workspace, user));
	}

	private joinUntracked(workspace: string, user: PresenceUser): () => void {
		this.leave();
		// The person is known: their local copy of the workspace opens, and syncs in the background.
		startLocal(workspace, user.id);
		const handle = syncClient().open(workspaceChannel(workspace));
		this.handle = handle;
		this.offRecordChanged = handle.on('recordChanged', (id) => {
			for (const listener of this.listeners) listener(id);
		});
		this.presence = new LivePresence(handle.awareness);
		handle.awareness.setLocalState({ user, viewing: this.viewing });
		return () => {
			if (this.handle === handle) untrack(() => this.leave());
		};
	}

	private leave(): void {
		this.offRecordChanged?.();
		this.offRecordChanged = null;
		this.presence?.destroy();
		this.presence = null;
		this.handle?.release();
		this.handle = null;
	}

	/** Says which record this tab has open (null when none). */
	setViewing(recordId: string | null): void {
		this.viewing = recordId;
		if (this.handle && this.handle.awareness.getLocalState() !== null) {
			this.handle.awareness.setLocalStateField('viewing', recordId);
		}
	}

	/** Called with a record id whenever the server says its row changed. */
	onRecordChanged(listener: (recordId: string) => void): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/** Everyone online, distinct by person, this person first. */
	online(selfId: string | null): PresenceUser[] {
		const people = this.presence?.people(true) ?? [];
		return [...people.filter((p) => p.id === selfId), ...people.filter((p) => p.id !== selfId)];
	}

	/** Record id → other people (not this tab) who have it open. */
	viewers(): Map<string, PresenceUser[]> {
		const out = new Map<string, PresenceUser[]>();
		for (const entry of this.presence?.others() ?? []) {
			const recordId = entry.state.viewing;
			if (!recordId) continue;
			const list = out.get(recordId) ?? [];
			if (!list.some((p) => p.id === entry.state.user.id)) list.push(entry.state.user);
			out.set(recordId, list);
		}
		return out;
	}
}

export const workspacePresence = new WorkspacePresence();
