/**
 * The workspace's field definitions in the browser, live: the definitions document
 * (src/lib/model/fields.ts) opened through the tab's sync client like a record, so a
 * field an admin adds, renames or retires shows on every open page within moments,
 * without a reload (and offline, from the local copy). Pages render first from the list
 * the server put in the layout's data (SSR), then from the live document once it is here.
 *
 * Browser only for `connect`; `definitionsNow` is safe anywhere (it falls back to the
 * page's data during SSR, never keeping one request's list in module state).
 */
import { BUILTIN_DEFINITIONS, type FieldDefinition } from '$lib/model/schema.ts';
import { FieldCatalog, fieldsDocumentId, readDefinitions } from '$lib/model/fields.ts';
import type { DocHandle } from './client.ts';
import { syncClient } from './status.svelte.ts';

class LiveFieldDefinitions {
	/** The live list once the document is here; null before (and always during SSR). */
	live = $state<FieldDefinition[] | null>(null);
	private handle: DocHandle | null = null;
	private users = 0;
	private stop: (() => void) | null = null;

	/**
	 * Keeps the definitions document open while at least one page uses it; returns the
	 * function that gives it back (call from onMount / $effect).
	 */
	connect(workspace: string): () => void {
		this.users++;
		if (!this.handle) this.open(workspace);
		let released = false;
		return () => {
			if (released) return;
			released = true;
			this.users--;
			if (this.users === 0) this.close();
		};
	}

	private open(workspace: string): void {
		const handle = syncClient().open(fieldsDocumentId(workspace));
		this.handle = handle;
		const refresh = () => {
			if (handle.ready) this.live = readDefinitions(handle.doc);
		};
		handle.doc.on('afterTransaction', refresh);
		const offs = [handle.on('ready', refresh), handle.on('synced', refresh)];
		refresh();
		this.stop = () => {
			handle.doc.off('afterTransaction', refresh);
			for (const off of offs) off();
		};
	}

	private close(): void {
		this.stop?.();
		this.stop = null;
		this.handle?.release();
		this.handle = null;
	}
}

export const liveFieldDefinitions = new LiveFieldDefinitions();

/** The definitions to show now: live when the document is here, else the server's list from the page data, else the built-ins. */
export function definitionsNow(fromPage: readonly FieldDefinition[] | undefined): FieldCatalog {
	return new FieldCatalog(liveFieldDefinitions.live ?? fromPage ?? BUILTIN_DEFINITIONS);
}
