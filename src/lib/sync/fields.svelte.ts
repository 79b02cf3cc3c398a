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
import { FollowedDocument } from './followed-document.ts';

class LiveFieldDefinitions {
	/** The live list once the document is here; null before (and always during SSR). */
	live = $state<FieldDefinition[] | null>(null);
	private readonly document = new FollowedDocument({ read: (doc) => (this.live = readDefinitions(doc)) });

	/**
	 * Keeps the definitions document open while at least one page uses it; returns the
	 * function that gives it back (call from onMount / $effect).
	 */
	connect(workspace: string): () => void {
		return this.document.use(fieldsDocumentId(workspace));
	}
}

export const liveFieldDefinitions = new LiveFieldDefinitions();

/** The definitions to show now: live when the document is here, else the server's list from the page data, else the built-ins. */
export function definitionsNow(fromPage: readonly FieldDefinition[] | undefined): FieldCatalog {
	return new FieldCatalog(liveFieldDefinitions.live ?? fromPage ?? BUILTIN_DEFINITIONS);
}
