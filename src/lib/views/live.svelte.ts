/**
 * Saved views in the browser: the workspace's shared views live (their document opened
 * through the tab's sync client, like the field definitions, so an owner's change shows
 * on every open list at once, and offline from the local copy), and this person's
 * private views from `GET /api/views` (kept from the last answer while offline).
 * Changes go through the API (`save`, `change`, `remove`); the shared document then
 * brings them back to every tab, this one included.
 */
import { readSharedViews, sortViews, viewsDocumentId, type SavedView, type ViewInput } from './views.ts';
import { FollowedDocument } from '$lib/sync/followed-document.ts';

export type ViewAnswer = { ok: true; view: SavedView } | { ok: false; message: string };

const PRIVATE_KEY = 'accord.views.private';

class LiveViews {
	/** Shared views as the live document has them; null before it is here. */
	shared = $state<SavedView[] | null>(null);
	/** This person's private views; null before the server (or this device's copy) answered. */
	mine = $state<SavedView[] | null>(null);
	// Nobody writes it from a tab: the server refuses it, and nothing should wait for saves.
	private readonly document = new FollowedDocument({ readOnly: true, read: (doc) => (this.shared = readSharedViews(doc)) });

	/** Every view: private first, then shared. */
	get all(): SavedView[] {
		return [...(this.mine ?? []), ...(this.shared ?? [])];
	}

	find(id: string | null): SavedView | undefined {
		return id ? this.all.find((view) => view.id === id) : undefined;
	}

	/** Keeps the shared document open while a page uses it; returns the function that gives it back. */
	connect(workspace: string, person: string): () => void {
		return this.document.use(viewsDocumentId(workspace), () => void this.loadMine(person));
	}

	/** Asks the server for this person's private views; offline, the last answer kept on this device. */
	async loadMine(person: string): Promise<void> {
		const key = `${PRIVATE_KEY}.${person}`;
		try {
			const response = await fetch('/api/views', { headers: { accept: 'application/json' } });
			if (!response.ok) throw new Error(String(response.status));
			const body = (await response.json()) as { views: SavedView[] };
			this.mine = sortViews(body.views.filter((view) => !view.shared));
			// The shared ones too, until the live document is here.
			if (this.shared === null) this.shared = body.views.filter((view) => view.shared);
			try {
				localStorage.setItem(key, JSON.stringify(this.mine));
			} catch {
				// Storage full or off: not kept for offline.
			}
		} catch {
			try {
				const kept = JSON.parse(localStorage.getItem(key) ?? '[]') as SavedView[];
				if (this.mine === null) this.mine = Array.isArray(kept) ? kept : [];
			} catch {
				if (this.mine === null) this.mine = [];
			}
		}
	}

	private async send(url: string, method: string, body?: unknown): Promise<ViewAnswer> {
		try {
			const response = await fetch(url, { method, headers: { 'content-type': 'application/json', accept: 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
			const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
			if (!response.ok) return { ok: false, message: typeof answer.message === 'string' ? answer.message : `HTTP ${response.status}` };
			return { ok: true, view: answer as unknown as SavedView };
		} catch {
			return { ok: false, message: 'offline' };
		}
	}

	private applyMine(view: SavedView | null, removedId?: string): void {
		const others = (this.mine ?? []).filter((v) => v.id !== (view?.id ?? removedId));
		this.mine = sortViews(view && !view.shared ? [...others, view] : others);
		if (view?.shared && this.shared && !this.shared.some((v) => v.id === view.id)) this.shared = sortViews([...this.shared, view]);
	}

	async save(input: ViewInput): Promise<ViewAnswer> {
		const answer = await this.send('/api/views', 'POST', input);
		if (answer.ok) this.applyMine(answer.view);
		return answer;
	}

	async change(id: string, patch: Partial<ViewInput>): Promise<ViewAnswer> {
		const answer = await this.send(`/api/views/${id}`, 'PATCH', patch);
		if (answer.ok) this.applyMine(answer.view);
		return answer;
	}

	async remove(id: string): Promise<ViewAnswer> {
		const answer = await this.send(`/api/views/${id}`, 'DELETE');
		if (answer.ok) {
			this.applyMine(null, id);
			if (this.shared) this.shared = this.shared.filter((v) => v.id !== id);
		}
		return answer;
	}
}

export const liveViews = new LiveViews();
