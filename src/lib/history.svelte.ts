/**
 * What the record history UI shares: the timeline's field filter (set from a field's
 * "History" button), describing audit entries in words, and the history/restore calls.
 */
import type * as Y from 'yjs';
import type { AuditEntry, AuditPage, AuditValue, NotesSummary } from '$lib/model/audit.ts';
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { FIELDS } from '$lib/model/schema.ts';
import { displayUrl } from '$lib/model/validate.ts';
import { countryName, fieldLabel, formatDate, formatDateTime, stageLabel, t, tMaybe, type MessageKey } from '$lib/i18n/index.ts';

/** The record page's timeline: which field it is filtered to, and whether one is on the page. */
export const historyView = $state({ field: '', mounted: 0, focusRequest: 0 });

/** A field's "History" button: filter the timeline to that field and bring it into view. */
export function showFieldHistory(field: string): void {
	historyView.field = field;
	historyView.focusRequest++;
}

/** The places the timeline filters by (the API's `field` filter accepts these). */
export function filterPlaces(): { value: string; label: string }[] {
	return [
		...FIELDS.map((f) => ({ value: f.key, label: fieldLabel(f.key) })),
		{ value: 'tags', label: t('record.tags') },
		{ value: 'contacts', label: t('record.contacts') },
		{ value: 'activities', label: t('record.activities') },
		{ value: 'notes', label: t('record.notes') },
		{ value: 'meta', label: t('history.path.meta') }
	];
}

const ITEM_KEYS: Record<string, MessageKey> = {
	'contacts.name': 'contact.name',
	'contacts.title': 'contact.title',
	'contacts.email': 'contact.email',
	'contacts.phone': 'contact.phone',
	'activities.kind': 'activity.kind',
	'activities.subject': 'activity.subject',
	'activities.at': 'activity.at',
	'activities.done': 'activity.done'
};

/** `fields.company` → "Company"; `contacts[c1].email` → "Contacts · Email". */
export function pathLabel(path: string): string {
	if (path.startsWith('fields.')) return fieldLabel(path.slice(7));
	if (path === 'tags') return t('record.tags');
	if (path === 'notes') return t('record.notes');
	if (path === 'record') return t('history.path.record');
	if (path === 'private') return t('record.private');
	if (path === 'merge') return t('history.path.merge');
	if (path === 'meta.archived') return t('history.path.archived');
	if (path.startsWith('meta')) return t('history.path.meta');
	// An admin's change to a field definition: "Field x_source · option referral · retired".
	const definition = /^definitions\.([^.[]+)(?:\.options\[([^\]]*)\])?(?:\.(\w+))?$/.exec(path);
	if (definition) {
		const [, key, option, part] = definition;
		const field = t('history.path.definition', { field: FIELDS.some((spec) => spec.key === key) ? fieldLabel(key) : key });
		return [field, option ? t('history.path.definitionOption', { option }) : '', part ? tMaybe(`history.path.definition.${part}`, part) : ''].filter(Boolean).join(' · ');
	}
	const item = /^(contacts|activities)(?:\[[^\]]*\])?(?:\.(\w+))?$/.exec(path);
	if (item) {
		const list = t(item[1] === 'contacts' ? 'record.contacts' : 'record.activities');
		const key = item[2] ? ITEM_KEYS[`${item[1]}.${item[2]}`] : undefined;
		return item[2] ? `${list} · ${key ? t(key) : item[2]}` : list;
	}
	return path;
}

/** A phone as people write it (+86 138 0013 8000), from the E.164 form it is stored in. */
function phoneText(value: string): string {
	return parsePhoneNumberFromString(value)?.formatInternational() ?? value;
}

/** Which kind of place a path names, for how its values read. */
function placeKind(path: string): string {
	const field = /^fields\.(\w+)$/.exec(path)?.[1];
	if (field) return FIELDS.find((spec) => spec.key === field)?.type ?? 'text';
	const item = /^(contacts|activities)\[[^\]]*\]\.(\w+)$/.exec(path);
	if (!item) return '';
	if (item[2] === 'phone') return 'phone';
	if (item[2] === 'email') return 'email';
	if (item[2] === 'by') return 'user';
	if (item[2] === 'at') return 'datetime';
	if (item[2] === 'kind') return 'activityKind';
	return 'text';
}

/**
 * A value as a short text, in the words of the place it belongs to, as a person knows
 * it: a stage by its label, a person by their name, a phone grouped, a website in
 * Unicode, a date in the reader's locale, a contact by its name, an activity by its kind
 * and subject. Never raw JSON.
 */
export function valueText(value: AuditValue, path = '', people: readonly { id: string; name: string }[] = []): string {
	if (value === null || value === undefined || value === '') return t('history.none');
	if (typeof value === 'boolean') return t(value ? 'history.yes' : 'history.no');
	if (typeof value === 'number') return String(value);
	if (typeof value === 'string') {
		switch (placeKind(path)) {
			case 'enum':
				return path === 'fields.stage' ? stageLabel(value) : value;
			case 'user':
				return people.find((p) => p.id === value)?.name ?? value;
			case 'phone':
				return phoneText(value);
			case 'url':
				return displayUrl(value);
			case 'country':
				return `${countryName(value)} (${value})`;
			case 'date':
				return formatDate(value);
			case 'datetime':
				return formatDateTime(value);
			case 'activityKind':
				return tMaybe(`activityKind.${value}`, value);
		}
		return value.length > 120 ? `${value.slice(0, 119)}…` : value;
	}
	if (Array.isArray(value)) return value.map((v) => valueText(v, '', people)).join(', ');
	// The customer was erased on a data-subject request: the value is gone (server/erase.ts).
	if (value.$erased === true) return t('history.erased');
	if (path.startsWith('activities')) return activityText(value, people);
	if (path.startsWith('contacts')) return contactText(value);
	const named = value.name ?? value.subject ?? null;
	if (typeof named === 'string' && named) return named;
	return (
		Object.values(value)
			.filter((v) => typeof v === 'string' && v)
			.slice(0, 2)
			.join(', ') || t('history.none')
	);
}

type Item = { [key: string]: AuditValue };

/** "Call: pricing follow-up", or "Meeting · 6 Dec 2026, 23:00" without a subject. */
function activityText(item: Item, people: readonly { id: string; name: string }[]): string {
	const kind = typeof item.kind === 'string' ? tMaybe(`activityKind.${item.kind}`, item.kind) : t('record.activities');
	if (typeof item.subject === 'string' && item.subject) return t('history.activity', { kind, subject: item.subject });
	const when = typeof item.at === 'string' ? formatDateTime(item.at) : '';
	const by = typeof item.by === 'string' ? (people.find((p) => p.id === item.by)?.name ?? '') : '';
	return [kind, when, by].filter(Boolean).join(' · ');
}

/** A contact by its name, else its email or phone; a new, still empty one says so. */
function contactText(item: Item): string {
	if (typeof item.name === 'string' && item.name) return item.name;
	if (typeof item.email === 'string' && item.email) return item.email;
	if (typeof item.phone === 'string' && item.phone) return phoneText(item.phone);
	return t('history.emptyContact');
}

/** "3 characters added, 1 removed", with the right plural in each language. */
export function notesEditText(summary: NotesSummary): string {
	const added = t(summary.inserted === 1 ? 'history.notesAdded.one' : 'history.notesAdded.other', { count: summary.inserted });
	if (summary.deleted === 0) return added;
	if (summary.inserted === 0) return t('history.notesRemoved.only', { count: summary.deleted });
	return t('history.notesEdit2', { added, count: summary.deleted });
}

export function isNotesSummary(value: AuditValue): value is AuditValue & NotesSummary {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Record<string, AuditValue>).inserted === 'number';
}

export async function fetchHistory(recordId: string, params: Record<string, string | number | undefined>, signal?: AbortSignal): Promise<AuditPage> {
	const query = new URLSearchParams();
	for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, String(value));
	const response = await fetch(`/api/records/${encodeURIComponent(recordId)}/history?${query}`, { headers: { accept: 'application/json' }, signal });
	if (!response.ok) {
		const body = (await response.json().catch(() => null)) as { message?: string } | null;
		throw new Error(body?.message ?? `HTTP ${response.status}`);
	}
	return (await response.json()) as AuditPage;
}

/** Puts an entry's `before` (for a conflict: the lost value) back. Resolves with an error text, or null when done. */
export async function restoreEntry(recordId: string, entry: AuditEntry, use: 'before' | 'after' = 'before'): Promise<string | null> {
	try {
		const response = await fetch(`/api/records/${encodeURIComponent(recordId)}/restore`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', accept: 'application/json' },
			body: JSON.stringify({ entryId: entry.id, use })
		});
		if (response.ok) return null;
		const body = (await response.json().catch(() => null)) as { message?: string } | null;
		return body?.message ?? `HTTP ${response.status}`;
	} catch {
		return t('error.network');
	}
}

/**
 * Calls `refresh` a little after the document changes (the server writes its audit
 * entries once the change has arrived), and every `everyMs` as a fallback. Returns the cleanup.
 */
export function watchChanges(doc: Y.Doc | null, refresh: () => void, delayMs = 700, everyMs = 20_000): () => void {
	let timer: ReturnType<typeof setTimeout> | null = null;
	let late: ReturnType<typeof setTimeout> | null = null;
	const onUpdate = () => {
		if (timer) clearTimeout(timer);
		if (late) clearTimeout(late);
		timer = setTimeout(refresh, delayMs);
		// Entries still open for coalescing change a little later once more.
		late = setTimeout(refresh, delayMs * 4);
	};
	doc?.on('update', onUpdate);
	const interval = setInterval(() => {
		if (document.visibilityState === 'visible') refresh();
	}, everyMs);
	return () => {
		doc?.off('update', onUpdate);
		if (timer) clearTimeout(timer);
		if (late) clearTimeout(late);
		clearInterval(interval);
	};
}
