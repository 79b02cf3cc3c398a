/**
 * One customer record as the record page sees it: the plain record as rune state
 * (first from the page's copy, then from the live Y.Doc once it is ready: loaded from
 * the local copy, or synced), the edits the page makes (through the model's mapping
 * helpers), and who is here and where. Edits are allowed as soon as the document is
 * ready, offline too: they are kept locally and sent when the server is back.
 * Construct anywhere (SSR renders the initial copy); `connect()` only in the browser.
 */
import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import {
	activitiesOf,
	addItem,
	addTag,
	contactsOf,
	isRecordDoc,
	readRecord,
	removeItem,
	removeTag,
	setArchived,
	setField,
	updateItem,
	type Activity,
	type Contact,
	type CustomerRecord,
	type RecordMeta
} from '$lib/model/record.ts';
import type { Scalar } from '$lib/model/schema.ts';
import type { PresenceUser } from '../protocol/index.ts';
import { LiveDoc, LivePresence } from './status.svelte.ts';

export type ItemListName = 'contacts' | 'activities';

export class LiveRecord {
	readonly id: string;
	fields = $state<Record<string, Scalar>>({});
	tags = $state<string[]>([]);
	contacts = $state<Contact[]>([]);
	activities = $state<Activity[]>([]);
	meta = $state<RecordMeta>({ schema: 1, workspace: '', createdAt: '', createdBy: '', archived: false });
	/** Set once connected; null during SSR and before mount. */
	live = $state<LiveDoc | null>(null);
	presence = $state<LivePresence | null>(null);
	private offTransaction: (() => void) | null = null;
	private offSynced: (() => void) | null = null;

	constructor(initial: CustomerRecord) {
		this.id = initial.id;
		this.apply(initial);
	}

	get doc(): Y.Doc | null {
		return this.live?.handle.doc ?? null;
	}

	get awareness(): Awareness | null {
		return this.live?.handle.awareness ?? null;
	}

	/** True once the live document is here (local copy or server): only then are edits allowed. */
	get editable(): boolean {
		return this.live !== null && this.live.ready && this.live.error === null;
	}

	connect(user: PresenceUser): void {
		if (this.live) return;
		const live = new LiveDoc(this.id);
		this.live = live;
		const doc = live.handle.doc;
		const refresh = () => {
			if (live.handle.ready && isRecordDoc(doc)) this.apply(readRecord(doc, this.id));
		};
		doc.on('afterTransaction', refresh);
		this.offTransaction = () => doc.off('afterTransaction', refresh);
		const offReady = live.handle.on('ready', refresh);
		const offSynced = live.handle.on('synced', refresh);
		this.offSynced = () => {
			offReady();
			offSynced();
		};
		refresh();
		this.presence = new LivePresence(live.handle.awareness);
		live.handle.awareness.setLocalState({ user, field: null });
	}

	destroy(): void {
		this.offTransaction?.();
		this.offSynced?.();
		this.presence?.destroy();
		this.live?.destroy();
		this.offTransaction = this.offSynced = null;
		this.presence = null;
		this.live = null;
	}

	private apply(record: CustomerRecord): void {
		this.fields = record.fields;
		this.tags = record.tags;
		this.contacts = record.contacts;
		this.activities = record.activities;
		this.meta = record.meta;
	}

	// ------------------------------------------------------------ edits (no-ops until editable)

	setField(key: string, value: Scalar): void {
		const doc = this.doc;
		if (doc && this.editable) setField(doc, key, value);
	}

	addTag(tag: string): void {
		const doc = this.doc;
		if (doc && this.editable) addTag(doc, tag);
	}

	removeTag(tag: string): void {
		const doc = this.doc;
		if (doc && this.editable) removeTag(doc, tag);
	}

	setArchived(archived: boolean): void {
		const doc = this.doc;
		if (doc && this.editable) setArchived(doc, archived);
	}

	private array(list: ItemListName) {
		const doc = this.doc;
		if (!doc || !this.editable) return null;
		return list === 'contacts' ? contactsOf(doc) : activitiesOf(doc);
	}

	addItem(list: ItemListName, item: Record<string, Scalar | undefined>): string | null {
		const array = this.array(list);
		return array ? addItem(array, item) : null;
	}

	updateItem(list: ItemListName, id: string, key: string, value: Scalar): void {
		const array = this.array(list);
		if (array) updateItem(array, id, key, value);
	}

	removeItem(list: ItemListName, id: string): void {
		const array = this.array(list);
		if (array) removeItem(array, id);
	}

	// ------------------------------------------------------------ presence

	/** Says which field this tab is in (`fields.company`, `notes`, `contacts.<id>.email`), or none. */
	focus(field: string | null): void {
		const awareness = this.awareness;
		if (!awareness || awareness.getLocalState() === null) return;
		if ((awareness.getLocalState() as { field?: string | null }).field !== field) awareness.setLocalStateField('field', field);
	}

	/** Field path → the other people focused on it. */
	focusedBy(): Map<string, PresenceUser[]> {
		const out = new Map<string, PresenceUser[]>();
		for (const entry of this.presence?.others() ?? []) {
			const field = entry.state.field;
			if (!field) continue;
			const list = out.get(field) ?? [];
			if (!list.some((p) => p.id === entry.state.user.id)) list.push(entry.state.user);
			out.set(field, list);
		}
		return out;
	}
}
