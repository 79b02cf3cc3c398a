/**
 * A workspace's own live document in the browser (its field definitions, its shared
 * views), opened through the tab's sync client like a record and kept open while at
 * least one page uses it: each page takes it with `use` and gives it back with the
 * function it returns; the last one to give it back closes it. Whenever the document
 * changes (or arrives: from the local copy, then from the server), `read` is called with
 * it, so the store that owns the follower keeps its own state current.
 */
import type * as Y from 'yjs';
import type { DocHandle } from './client.ts';
import { syncClient } from './status.svelte.ts';

export interface FollowOptions {
	/** Called with the document each time it changes, once it is here. */
	read: (doc: Y.Doc) => void;
	/** Nobody writes it from a tab (the server refuses it): nothing should wait for saves. */
	readOnly?: boolean;
}

export class FollowedDocument {
	private handle: DocHandle | null = null;
	private users = 0;
	private stop: (() => void) | null = null;

	constructor(private readonly options: FollowOptions) {}

	/**
	 * Keeps document `documentId` open while a page uses it (call from onMount / $effect);
	 * `opened` runs when this use opened it. Returns the function that gives it back.
	 */
	use(documentId: string, opened?: () => void): () => void {
		this.users++;
		if (!this.handle) {
			this.open(documentId);
			opened?.();
		}
		let released = false;
		return () => {
			if (released) return;
			released = true;
			this.users--;
			if (this.users === 0) this.close();
		};
	}

	private open(documentId: string): void {
		const handle = syncClient().open(documentId);
		if (this.options.readOnly) handle.markReadOnly();
		this.handle = handle;
		const refresh = () => {
			if (handle.ready) this.options.read(handle.doc);
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
