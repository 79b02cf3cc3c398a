/**
 * Planning a merge of customer records, without doing it: which value each field of the
 * survivor ends with (and from which record), which tags, contacts and activities it
 * gains (de-duplicated), and its notes with every merged record's notes kept under a
 * heading naming it. Pure and shared: the merge page shows this plan before anything
 * changes, and the server (server/merge.ts) applies the same plan to the live
 * documents, so what a person is shown is what happens.
 */
import { canonicalRecordId, newId, type Activity, type Contact, type CustomerRecord } from './record.ts';
import { MAX_NOTES_LENGTH, MAX_TAGS, type Scalar } from './schema.ts';
import { validateField, type FieldLookup, type MemberLookup } from './validate.ts';

/**
 * Records one merge may name, survivor included. A merge has no small cap (a cluster of
 * duplicates can be large), but a request is bounded like anything an outsider sends.
 */
export const MAX_MERGE_RECORDS = 50;

/** What `POST /api/records/merge` accepts, checked. */
export interface MergeRequest {
	/** The record that stays. */
	survivor: string;
	/** The records merged into it, in the order their notes and values are taken. */
	merged: string[];
	/** Field key → the id of the record whose value the survivor keeps (one of the records named). */
	fields: Record<string, string>;
	/** Language of the headings put above merged notes. */
	locale: 'en' | 'zh';
}

export type MergeRequestResult = { ok: true; request: MergeRequest } | { ok: false; message: string };

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const EXAMPLE = '{"survivor": "<record id>", "merged": ["<record id>", …], "fields": {"email": "<record id>"}}';

/** Reads a merge request body; every refusal names what is wrong and what to send instead. */
export function parseMergeRequest(body: unknown): MergeRequestResult {
	if (!isPlainObject(body)) return { ok: false, message: `Send an object such as ${EXAMPLE}.` };
	for (const key of Object.keys(body)) {
		if (!['survivor', 'merged', 'fields', 'locale'].includes(key)) {
			return { ok: false, message: `"${key.slice(0, 40)}" is not part of a merge: send survivor, merged, and optionally fields and locale.` };
		}
	}
	const survivor = typeof body.survivor === 'string' ? canonicalRecordId(body.survivor) : null;
	if (survivor === null) return { ok: false, message: `survivor must be the id of the record that stays, for example ${EXAMPLE}.` };
	if (!Array.isArray(body.merged) || body.merged.length === 0) {
		return { ok: false, message: 'merged must be a list of at least one record id to merge into the survivor.' };
	}
	if (body.merged.length + 1 > MAX_MERGE_RECORDS) {
		return { ok: false, message: `One merge takes at most ${MAX_MERGE_RECORDS} records (survivor included); merge in several steps.` };
	}
	const merged: string[] = [];
	for (const raw of body.merged as unknown[]) {
		const id = typeof raw === 'string' ? canonicalRecordId(raw) : null;
		if (id === null) return { ok: false, message: `${JSON.stringify(raw)?.slice(0, 60)} in merged is not a record id.` };
		if (id === survivor) return { ok: false, message: `Record ${id} cannot be merged into itself: it is the survivor.` };
		if (merged.includes(id)) return { ok: false, message: `Record ${id} is named twice in merged; name each record once.` };
		merged.push(id);
	}
	const fields: Record<string, string> = {};
	if (body.fields !== undefined) {
		if (!isPlainObject(body.fields)) return { ok: false, message: 'fields must map a field key to the id of the record whose value to keep, for example {"email": "<record id>"}.' };
		const involved = new Set([survivor, ...merged]);
		for (const [key, raw] of Object.entries(body.fields)) {
			if (key.length > 200) return { ok: false, message: 'field keys are at most 200 characters.' };
			const id = typeof raw === 'string' ? canonicalRecordId(raw) : null;
			if (id === null || !involved.has(id)) {
				return { ok: false, message: `fields.${key.slice(0, 40)} must name one of the records being merged (the survivor or one in merged).` };
			}
			fields[key] = id;
		}
	}
	if (body.locale !== undefined && body.locale !== 'en' && body.locale !== 'zh') return { ok: false, message: 'locale must be "en" or "zh".' };
	return { ok: true, request: { survivor, merged, fields, locale: body.locale === 'zh' ? 'zh' : 'en' } };
}

const isEmpty = (value: Scalar | undefined): boolean => value === undefined || value === null || (typeof value === 'string' && value.trim() === '');

/** How a record is named to people (in headings, notices and errors): its name, else its company, else its id. */
export function recordLabel(record: Pick<CustomerRecord, 'id' | 'fields'>): string {
	for (const key of ['name', 'company']) {
		const value = record.fields[key];
		if (typeof value === 'string' && value.trim()) return value.trim();
	}
	return record.id;
}

/** The line put above one merged record's notes in the survivor's notes. */
export function notesHeading(record: Pick<CustomerRecord, 'id' | 'fields'>, locale: 'en' | 'zh'): string {
	const label = recordLabel(record);
	return locale === 'zh' ? `── 合并自「${label}」的备注 ──` : `── Notes merged from “${label}” ──`;
}

const normal = (value: unknown): string => (typeof value === 'string' ? value.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ') : '');
const digits = (value: unknown): string => (typeof value === 'string' ? value.normalize('NFKC').replace(/\D/g, '') : '');

/**
 * What makes two contacts one person: the same email, or the same phone number (its
 * digits), or, for contacts with neither, the same name and title.
 */
function contactKeys(contact: Contact): string[] {
	const keys: string[] = [];
	if (normal(contact.email)) keys.push(`email:${normal(contact.email)}`);
	if (digits(contact.phone).length >= 5) keys.push(`phone:${digits(contact.phone)}`);
	if (keys.length === 0) keys.push(`name:${normal(contact.name)}|${normal(contact.title)}`);
	return keys;
}

/** Two activities are one when they are of the same kind, about the same subject, at the same time. */
const activityKey = (activity: Activity): string => `${normal(activity.kind)}|${normal(activity.subject)}|${activity.at ?? ''}`;

export interface MergePlan {
	survivor: string;
	merged: string[];
	/** The survivor's fields after the merge (keys absent here are absent after). */
	fields: Record<string, Scalar>;
	/** For each field the survivor ends with a value in: the record it came from. */
	fieldSources: Record<string, string>;
	/** Tags the survivor gains (it keeps its own). */
	addTags: string[];
	/** Contacts the survivor gains, after its own; ids kept unless the survivor already has one. */
	addContacts: Contact[];
	addActivities: Activity[];
	/** Contacts and activities left out as duplicates of ones kept. */
	duplicateContacts: number;
	duplicateActivities: number;
	/** The survivor's notes after the merge. */
	notes: string;
}

export type MergePlanResult = { ok: true; plan: MergePlan } | { ok: false; errors: Record<string, string> };

/**
 * Plans merging `merged` into `survivor` (records in the order of the request), with
 * per-field `choices` (field key → record id). Each field keeps the chosen record's
 * value, else the survivor's, else the first merged record's that has one; the chosen
 * value goes through the record validator once more, as every write does, against the
 * workspace's definitions and members (`context`; the built-ins alone when absent).
 * A person value the survivor already holds is kept even if that person has left the
 * workspace (the merge does not write it, as an edit of another field does not), but
 * one taken from a merged record must name a member; a retired select option is kept
 * wherever it comes from (as retiring keeps every value). Refused, with the place named,
 * when the result would break a limit (tags, notes) or a kept value is not valid.
 */
export function planMerge(
	survivor: CustomerRecord,
	merged: readonly CustomerRecord[],
	choices: Readonly<Record<string, string>> = {},
	locale: 'en' | 'zh' = 'en',
	context: { definitions?: FieldLookup; members?: MemberLookup } = {}
): MergePlanResult {
	const all = [survivor, ...merged];
	const byId = new Map(all.map((record) => [record.id, record]));
	const errors: Record<string, string> = {};

	const keys: string[] = [];
	for (const record of all) for (const key of Object.keys(record.fields)) if (!keys.includes(key)) keys.push(key);
	for (const key of Object.keys(choices)) if (!keys.includes(key)) keys.push(key);
	const chosen: Record<string, { value: Scalar; from: string }> = {};
	for (const key of keys) {
		const pick = choices[key];
		const from = pick !== undefined ? byId.get(pick) : all.find((record) => !isEmpty(record.fields[key]));
		if (!from) {
			if (pick !== undefined) errors[`fields.${key}`] = `fields.${key.slice(0, 40)} names ${pick}, which is not one of the records being merged.`;
			continue;
		}
		const value = from.fields[key];
		if (!isEmpty(value)) chosen[key] = { value: value as Scalar, from: from.id };
	}
	const country = typeof chosen.country?.value === 'string' ? chosen.country.value : null;
	const fields: Record<string, Scalar> = {};
	const fieldSources: Record<string, string> = {};
	const members = context.members ?? context.definitions?.members;
	for (const [key, { value, from }] of Object.entries(chosen)) {
		const unchanged = from === survivor.id || survivor.fields[key] === value;
		const valid = validateField(key, value, {
			country,
			definitions: context.definitions,
			members: members && unchanged ? { has: (id) => id === value || members.has(id) } : members
		});
		// A retired option stays where a record holds it (retiring never loses a value): the merge moves it, nobody picks it anew.
		if (!valid.ok && valid.code === 'retired-option') {
			fields[key] = value;
			fieldSources[key] = from;
			continue;
		}
		if (!valid.ok) {
			errors[`fields.${key}`] = `${key.slice(0, 40)} of ${recordLabel(byId.get(from)!)}: ${valid.message} Pick another record's value.`;
			continue;
		}
		if (valid.value === null) continue;
		fields[key] = valid.value;
		fieldSources[key] = from;
	}

	const tags = new Set(survivor.tags);
	const addTags: string[] = [];
	for (const record of merged) for (const tag of record.tags) if (!tags.has(tag)) (tags.add(tag), addTags.push(tag));
	if (tags.size > MAX_TAGS) errors.tags = `The survivor would have ${tags.size} tags; a record has at most ${MAX_TAGS}. Remove some tags first.`;

	const contactSeen = new Set(survivor.contacts.flatMap(contactKeys));
	const contactIds = new Set(survivor.contacts.map((contact) => contact.id));
	const addContacts: Contact[] = [];
	let duplicateContacts = 0;
	for (const record of merged) {
		for (const contact of record.contacts) {
			const contactKeysOf = contactKeys(contact);
			if (contactKeysOf.some((key) => contactSeen.has(key))) {
				duplicateContacts++;
				continue;
			}
			for (const key of contactKeysOf) contactSeen.add(key);
			const id = contactIds.has(contact.id) ? newId() : contact.id;
			contactIds.add(id);
			addContacts.push({ ...contact, id });
		}
	}

	const activitySeen = new Set(survivor.activities.map(activityKey));
	const activityIds = new Set(survivor.activities.map((activity) => activity.id));
	const addActivities: Activity[] = [];
	let duplicateActivities = 0;
	for (const record of merged) {
		for (const activity of record.activities) {
			const key = activityKey(activity);
			if (activitySeen.has(key)) {
				duplicateActivities++;
				continue;
			}
			activitySeen.add(key);
			const id = activityIds.has(activity.id) ? newId() : activity.id;
			activityIds.add(id);
			addActivities.push({ ...activity, id });
		}
	}

	let notes = survivor.notes;
	for (const record of merged) {
		if (!record.notes.trim()) continue;
		const section = `${notesHeading(record, locale)}\n${record.notes}`;
		notes = notes.trim() ? `${notes.replace(/\n+$/, '')}\n\n${section}` : section;
	}
	if (notes.length > MAX_NOTES_LENGTH) {
		errors.notes = `The survivor's notes would be ${notes.length} characters; notes hold at most ${MAX_NOTES_LENGTH}. Shorten some notes first.`;
	}

	if (Object.keys(errors).length > 0) return { ok: false, errors };
	return {
		ok: true,
		plan: {
			survivor: survivor.id,
			merged: merged.map((record) => record.id),
			fields,
			fieldSources,
			addTags,
			addContacts,
			addActivities,
			duplicateContacts,
			duplicateActivities,
			notes
		}
	};
}
