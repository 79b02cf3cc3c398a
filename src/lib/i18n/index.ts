/**
 * UI strings in English and Simplified Chinese, and the formatting helpers that go
 * with them. `t(key, params)` reads the current locale from rune state
 * (`locale.svelte.ts`), so templates update when the language is switched.
 * Every key must exist in both dictionaries: `zh` is typed against `en`.
 */
import type { Validated } from '$lib/model/validate.ts';
import type { FieldDefinition } from '$lib/model/schema.ts';
import { current } from './locale.svelte.ts';

export const LOCALES = ['en', 'zh'] as const;
export type Locale = (typeof LOCALES)[number];

/** Cookie that keeps the language a person chose. */
export const LOCALE_COOKIE = 'accord_locale';

export function isLocale(value: unknown): value is Locale {
	return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** BCP 47 tag for `<html lang>` and Intl. */
export function languageTag(locale: Locale): string {
	return locale === 'zh' ? 'zh-Hans' : 'en';
}

/** The locale an Accept-Language header prefers: the first zh* or en* by weight; English otherwise. */
export function localeFromAcceptLanguage(header: string | null | undefined): Locale {
	if (!header) return 'en';
	const ranked = header
		.split(',')
		.map((part, index) => {
			const [tag, ...params] = part.trim().toLowerCase().split(';');
			const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
			return { tag, q: q ? Number(q.slice(2)) || 0 : 1, index };
		})
		.filter((entry) => entry.tag && entry.q > 0)
		.sort((a, b) => b.q - a.q || a.index - b.index);
	for (const { tag } of ranked) {
		if (tag.startsWith('zh')) return 'zh';
		if (tag.startsWith('en')) return 'en';
	}
	return 'en';
}

const en = {
	'app.name': 'Accord',
	'app.tagline': 'Customer records, together',
	'nav.records': 'Records',
	'nav.board': 'Board',
	'nav.main': 'Main',
	'nav.skip': 'Skip to content',
	'header.online': 'Online now',
	'header.you': 'you',
	'header.signedInAs': 'Signed in as {name}',
	'header.language': 'Language',
	'header.signOut': 'Sign out',
	'header.roleLabel': 'Your role: {role}',
	'nav.settings': 'Settings',
	'role.admin': 'Admin',
	'role.editor': 'Editor',
	'role.viewer': 'Viewer',
	'role.admin.help': 'Everything editors can do, plus members, roles and API tokens.',
	'role.editor.help': 'Creates and changes customer records.',
	'role.viewer.help': 'Reads customer records; cannot change them.',
	'status.connecting': 'Connecting…',
	'status.online': 'Online',
	'status.offline': 'Offline – reconnecting…',
	'status.syncing': 'Syncing…',
	'status.pending.one': '1 change not yet on the server',
	'status.pending.other': '{count} changes not yet on the server',
	'status.title': 'Connection to the server',
	'status.offlinePending.one': 'Offline · 1 change not yet on the server',
	'status.offlinePending.other': 'Offline · {count} changes not yet on the server',
	'status.allSaved': 'All changes saved on the server',
	'status.keptLocally': 'Changes made offline are kept on this device and sent when the connection is back.',

	'field.name': 'Name',
	'field.company': 'Company',
	'field.title': 'Title',
	'field.email': 'Email',
	'field.phone': 'Phone',
	'field.website': 'Website',
	'field.industry': 'Industry',
	'field.stage': 'Stage',
	'field.owner': 'Owner',
	'field.value': 'Deal value',
	'field.currency': 'Currency',
	'field.country': 'Country',
	'field.city': 'City',
	'field.address': 'Address',
	'field.followUpAt': 'Follow up on',
	'field.notSet': 'Not set',
	'field.countryHint': 'Two-letter code, e.g. CN, US',

	'stage.lead': 'Lead',
	'stage.qualified': 'Qualified',
	'stage.proposal': 'Proposal',
	'stage.negotiation': 'Negotiation',
	'stage.won': 'Won',
	'stage.lost': 'Lost',

	'activity.kind': 'Kind',
	'activity.subject': 'Subject',
	'activity.at': 'When',
	'activity.done': 'Done',
	'activityKind.call': 'Call',
	'activityKind.email': 'Email',
	'activityKind.meeting': 'Meeting',
	'activityKind.task': 'Task',
	'activityKind.note': 'Note',
	'contact.name': 'Name',
	'contact.title': 'Title',
	'contact.email': 'Email',
	'contact.phone': 'Phone',

	'list.title': 'Customer records',
	'list.new': 'New record',
	'list.filterStage': 'Stage',
	'list.filterOwner': 'Owner',
	'list.allStages': 'All stages',
	'list.allOwners': 'All owners',
	'list.showArchived': 'Show archived',
	'list.apply': 'Apply',
	'list.clear': 'Clear filters',
	'list.tags': 'Tags',
	'list.updatedAt': 'Last updated',
	'list.viewing': 'Viewing',
	'list.empty': 'No records match these filters.',
	'list.emptyAll': 'No customer records yet. Create the first one.',
	'list.range': '{from}–{to} of {total}',
	'list.search': 'Search records',
	'list.searchPlaceholder': 'Name, company, phone, email or pinyin. Press / to search',
	'list.searchHelp': 'Every word must match. Use acme* for a prefix, "…" for a phrase, and stage:won, owner:bob, tag:vip, city:深圳 or value>100000 to filter.',
	'list.searchSubmit': 'Search',
	'list.searchClear': 'Clear search',
	'list.searchEmpty': 'No records match “{q}”.',
	'list.searchInvalid': 'This search cannot be read: {message}',
	'list.previous': 'Previous',
	'list.next': 'Next',
	'list.archived': 'Archived',
	'list.sortAsc': 'sorted ascending',
	'list.sortDesc': 'sorted descending',
	'list.refreshing': 'Updating…',
	'list.offline': 'Offline: showing the copy kept on this device.',
	'list.unsynced': 'Not on the server yet',
	'list.private': 'Private to owner',

	'new.title': 'New customer record',
	'new.create': 'Create record',
	'new.creating': 'Creating…',
	'new.cancel': 'Cancel',
	'new.failed': 'The record was not created. Please fix the fields marked below.',
	'new.offline': 'You are offline: the record is created on this device and sent to the server when the connection is back.',
	'new.notesLabel': 'First notes (optional)',
	'dup.looksLike': 'This looks like an existing customer:',
	'dup.open': 'Open it',
	'dup.createAnyway': 'Create anyway',
	'dup.reason.email': 'same email {value}',
	'dup.reason.phone': 'same phone {value}',
	'dup.reason.domain': 'same website domain {value}',
	'dup.reason.name': 'similar name and company',
	'dup.reason.nameOnly': 'same name, neither has a company',
	'dup.kind.email': 'same email',
	'dup.kind.phone': 'same phone',
	'dup.kind.domain': 'same website domain',
	'dup.kind.name': 'similar name and company',
	'dup.confidence': '{percent}% likely',
	'dup.banner': 'This record may be a duplicate of:',
	'dup.title': 'Duplicates',
	'dup.intro': 'Groups of records that look like the same customer, most likely first. Private records of others are not shown.',
	'dup.summary': '{clusters} groups among {records} records',
	'dup.truncated': 'Showing the first {shown} of {total} groups.',
	'dup.none': 'No likely duplicates.',
	'dup.merge': 'Merge these',
	'dup.records': '{count} records',

	'record.back': 'All records',
	'record.details': 'Details',
	'record.tags': 'Tags',
	'record.contacts': 'Contacts',
	'record.activities': 'Activities',
	'record.notes': 'Notes',
	'record.archive': 'Archive',
	'record.unarchive': 'Restore from archive',
	'record.archivedBanner': 'This record is archived: it is hidden from the list unless archived records are shown.',
	'record.loading': 'Connecting to the live record…',
	'record.offline': 'Offline: your changes are kept on this device and sent when the connection is back.',
	'record.createdOffline': 'Created on this device: it reaches the server when the connection is back.',
	'record.readonlyUntilSynced': 'Editing starts once the live record has loaded.',
	'record.here': 'Here now',
	'record.addContact': 'Add contact',
	'record.addActivity': 'Add activity',
	'record.remove': 'Remove',
	'record.removeItem': 'Remove {name}',
	'record.noContacts': 'No contacts yet.',
	'record.noActivities': 'No activities yet.',
	'record.created': 'Created {date} by {name}',
	'palette.open': 'Search and commands',
	'palette.title': 'Search and commands',
	'palette.placeholder': 'Search records, pages and actions',
	'palette.records': 'Records',
	'palette.pages': 'Pages',
	'palette.actions': 'Actions',
	'palette.page.records': 'Records',
	'palette.page.board': 'Board',
	'palette.page.settings': 'Settings',
	'palette.page.audit': 'Audit log',
	'palette.action.new-record': 'New record',
	'palette.action.language': 'Switch language to {language}',
	'palette.action.sign-out': 'Sign out',
	'palette.goTo': 'Go to',
	'palette.empty': 'Nothing matches “{q}”.',
	'palette.hint': '↑ ↓ to move · Enter to open · Esc to close',
	'palette.local': 'Searched on this device',
	'palette.indexing': 'Indexing the records on this device ({indexed} of {rows})',
	'palette.more': 'All {count} matching records in the list',
	'palette.archived': 'archived',
	'record.untitled': 'Untitled record',
	'record.editing': '{name} is editing',
	'record.apiToken': 'an API token',
	'record.viewOnly': 'You can view this record; your role does not allow changes.',
	'record.private': 'Private to owner',
	'record.privateBadge': 'Private',
	'record.privateHelp': 'Only the owner and admins can open a private record; everyone else no longer sees it in the list.',
	'record.privateSaving': 'Saving…',
	'record.privateFailed': 'Who can see this record was not changed: {reason}',

	'tags.add': 'Add',
	'tags.label': 'New tag',
	'tags.placeholder': 'Type a tag, press Enter',
	'tags.remove': 'Remove tag {tag}',
	'tags.none': 'No tags yet.',

	'notes.placeholder': 'Write notes together – everyone here sees them as you type.',

	'error.notFound.title': 'Record not found',
	'error.notFound.body': 'This record does not exist or you cannot open it.',
	'error.pageNotFound.title': 'Page not found',
	'error.pageNotFound.body': 'There is no page at this address. Check the link, or go back to the records.',
	'error.title': 'Something went wrong',
	'error.body': 'The page could not be shown. Try again in a moment; if it keeps happening, tell your administrator.',
	'error.back': 'Back to all records',
	'error.refused': 'This record does not exist or you cannot open it.',
	'error.notKept': 'The server did not keep part of your last change. {reason}',
	'error.dismiss': 'Dismiss',
	'error.readOnly': 'Your role is viewer: you can read records but not change them.',
	'error.unavailable': 'This record cannot be loaded right now; try again in a moment.',
	'error.network': 'The server could not be reached. Check your connection and try again.',
	'error.offlineRecord': 'This record is not on this device yet, and the server cannot be reached. Open it again once you are online.',
	'error.forbidden.title': 'Not allowed',
	'error.forbidden.body': 'Your role does not allow this page. Ask an admin if you need it.',
	'error.signIn.title': 'Sign-in did not work',
	'error.signIn.body': 'Nothing was changed. Start again from the sign-in page; if this keeps happening, tell your administrator.',
	'error.unauthorised': 'You are not signed in any more. Sign in again to continue.',

	'validation.required': '{field} is required.',
	'validation.length': '{field} can have at most {max} characters.',
	'validation.email': '“{raw}” is not an email address; expected something like name@example.com.',
	'validation.phone': '“{raw}” is not a phone number we can read; include the country code, for example +86 138 0013 8000 or +1 415 555 0100.',
	'validation.url': '“{raw}” is not a web address; expected something like example.com.',
	'validation.date': '“{raw}” is not a date; use the form 2026-12-31.',
	'validation.money': '{field} must be a number of zero or more, not “{raw}”.',
	'validation.enum': 'Choose {field} from the list.',
	'validation.country': 'Use a two-letter ISO country code such as CN or US, not “{raw}”.',
	'validation.tagEmpty': 'A tag cannot be empty.',
	'validation.tagLong': 'A tag can have at most {max} characters.',
	'validation.invalid': '{field} is not valid.',
	// Fields defined by the workspace (src/lib/model/fields.ts)
	'validation.number': '{field} must be a number, not “{raw}”.',
	'validation.rating': '{field} is a rating from 1 to 5.',
	'validation.yesno': 'Choose yes or no for {field}.',
	'validation.datetime': '“{raw}” is not a date and time; use the form 2026-12-31T09:30+08:00.',
	'validation.retiredOption': 'That option of {field} is retired and can no longer be chosen.',
	'field.yes': 'Yes',
	'field.no': 'No',
	'field.retiredOption': '{label} (retired)',
	'field.datetimeHint': '2026-12-31T09:30+08:00',
	'field.multiHint': 'Choose any number',
	'list.columns': 'Columns',
	'list.columnsHint': 'Which fields the list shows',
	'settings.fields.link': 'Fields',
	'settings.fields.title': 'Fields',
	'settings.fields.intro': 'The fields every record of this workspace has, in the order the record page shows them. Renaming changes the label only, never the stored key; retiring hides a field and keeps every value.',
	'settings.fields.add': 'Add a field',
	'settings.fields.labelEn': 'Name (English)',
	'settings.fields.labelZh': 'Name (Chinese)',
	'settings.fields.type': 'Type',
	'settings.fields.currency': 'Currency',
	'settings.fields.options': 'Options',
	'settings.fields.optionsHint': 'One per line: English name, then “|” and the Chinese name if you like (Trade show | 展会).',
	'settings.fields.create': 'Add field',
	'settings.fields.save': 'Save',
	'settings.fields.edit': 'Edit',
	'settings.fields.cancel': 'Cancel',
	'settings.fields.retire': 'Retire',
	'settings.fields.restore': 'Restore',
	'settings.fields.up': 'Move {field} up',
	'settings.fields.down': 'Move {field} down',
	'settings.fields.builtin': 'Built-in',
	'settings.fields.retired': 'Retired',
	'settings.fields.key': 'Key',
	'settings.fields.addOption': 'Add option',
	'settings.fields.colour': 'Colour',
	'settings.fields.failed': 'Nothing was changed: {reason}',
	'settings.fields.saved': 'Saved: every open page shows it now.',
	'settings.fields.live': 'Changes here reach every open page at once.',
	'fieldError.key-taken': 'A field with this key already exists; choose another name or key.',
	'fieldError.label-empty': 'The name cannot be empty; give it an English or Chinese name.',
	'fieldError.options': 'A select field needs at least one option.',
	'fieldError.option-label-empty': 'Every option needs a name.',
	'fieldError.option-taken': 'Two options have the same name; each needs its own.',
	'fieldError.currency': 'A money field needs its currency, such as CNY, USD or EUR.',
	'fieldError.required': 'This field is required on every record and cannot be retired.',
	'fieldError.too-many': 'This workspace has as many fields as it can have; retire or reuse one instead.',
	'fieldType.text': 'Text',
	'fieldType.longtext': 'Long text',
	'fieldType.number': 'Number',
	'fieldType.money': 'Money',
	'fieldType.date': 'Date',
	'fieldType.datetime': 'Date and time',
	'fieldType.select': 'Select',
	'fieldType.multiselect': 'Multi-select',
	'fieldType.yesno': 'Yes/no',
	'fieldType.email': 'Email',
	'fieldType.phone': 'Phone',
	'fieldType.url': 'Web address',
	'fieldType.country': 'Country',
	'fieldType.person': 'Person',
	'fieldType.rating': 'Rating (1–5)',
	'colour.grey': 'Grey',
	'colour.blue': 'Blue',
	'colour.green': 'Green',
	'colour.yellow': 'Yellow',
	'colour.orange': 'Orange',
	'colour.red': 'Red',
	'colour.purple': 'Purple',
	'colour.pink': 'Pink',

	'signIn.title': 'Sign in to Accord',
	'signIn.lead': 'Customer records, together. Sign in with your work account to continue.',
	'signIn.with': 'Sign in with {provider}',
	'signIn.withDemo': 'Sign in with a demo user',
	'signIn.via': 'You will continue at {provider} and come back here.',
	'signIn.devTitle': 'Development sign-in — not for production',
	'signIn.devBody': 'No identity provider is configured, so Accord uses its built-in development sign-in: anyone can sign in as one of the demo users (admin, editor or viewer) without a password. Do not enter real customer data.',
	'signIn.devFix': 'To use your organisation’s sign-in, set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (see the README).',
	'signedOut.title': 'You have signed out',
	'signedOut.body': 'Your Accord session on this device has ended, and its live connections are closed.',
	'auth.signInAgain': 'Sign in again',
	'auth.sessionEnded': 'Your session has ended. Sign in again to continue.',

	'settings.title': 'Settings',
	'settings.lead': 'Who may do what in this workspace, and the tokens other systems use to reach its API.',
	'settings.forbidden': 'Only admins can change settings.',
	'members.title': 'Members',
	'members.lead': 'Everyone who has signed in to this workspace. Roles decide what each person can do.',
	'members.name': 'Name',
	'members.email': 'Email',
	'members.role': 'Role',
	'members.source': 'Role set by',
	'members.fromProvider': 'Identity provider',
	'members.byAdmin': '{name} (admin)',
	'members.you': 'you',
	'members.save': 'Save',
	'members.saved': 'The role of {name} is now {role}.',
	'members.notFound': 'That person is not a member of this workspace.',
	'members.invalidRole': 'Choose admin, editor or viewer.',
	'members.demoteSelf': 'You will no longer be an admin and will lose access to these settings. Continue?',
	'members.providerNote': 'When the identity provider assigns a role through its groups, that role applies again the next time the person signs in.',
	'members.empty': 'Nobody has signed in yet.',
	'tokens.title': 'API tokens',
	'tokens.lead': 'Tokens let other systems (ERP, e-commerce, scripts) use the API with the header “Authorization: Bearer <token>”, acting with the role given here.',
	'tokens.name': 'Name',
	'tokens.role': 'Role',
	'tokens.created': 'Created',
	'tokens.lastUsed': 'Last used',
	'tokens.status': 'Status',
	'tokens.never': 'Never',
	'tokens.active': 'Active',
	'tokens.revokedOn': 'Revoked {date}',
	'tokens.revoke': 'Revoke',
	'tokens.revokeConfirm': 'Revoke the token “{name}”? Systems using it stop working at once.',
	'tokens.revoked': 'The token “{name}” is revoked.',
	'tokens.notFound': 'That token does not exist or is already revoked.',
	'tokens.new': 'New token',
	'tokens.namePlaceholder': 'e.g. ERP sync',
	'tokens.create': 'Create token',
	'tokens.creating': 'Creating…',
	'tokens.nameInvalid': 'Give the token a name of up to 100 characters, such as “ERP sync”.',
	'tokens.createdTitle': 'Token “{name}” created',
	'tokens.onceWarning': 'Copy this token now. It is shown only this once and cannot be shown again; store it somewhere safe, such as a password manager.',
	'tokens.copy': 'Copy',
	'tokens.copied': 'Copied',
	'tokens.copyFailed': 'Select the token and copy it by hand.',
	'tokens.empty': 'No API tokens yet.',

	'history.title': 'History',
	'history.lead': 'Every change to this record: who, when, and what it was before.',
	'history.fieldButton': 'History',
	'history.fieldButtonTitle': 'Show the history of {field}',
	'history.filterField': 'Field',
	'history.filterPerson': 'Person',
	'history.allFields': 'All fields',
	'history.allPeople': 'Everyone',
	'history.clear': 'Clear filters',
	'history.empty': 'No changes yet.',
	'history.emptyFiltered': 'No changes match these filters.',
	'history.loading': 'Loading history…',
	'history.loadFailed': 'The history could not be loaded ({reason}).',
	'history.more': 'Show older changes',
	'history.count': '{shown} of {total} changes',
	'history.none': 'empty',
	'history.created': 'created the record',
	'history.cleared': 'cleared (was {before})',
	'history.added': 'added {value}',
	'history.removed': 'removed {value}',
	'history.notesAdded.one': '{count} character added',
	'history.notesAdded.other': '{count} characters added',
	'history.notesRemoved.only': '{count} characters removed',
	'history.notesEdit2': '{added}, {count} removed',
	'history.emptyContact': 'a new, empty contact',
	'history.activity': '{kind}: {subject}',
	'history.changes.other': '{count} edits',
	'history.relayed': 'relayed by {name}',
	'history.restore': 'Restore',
	'history.restoreTitle': 'Put “{value}” back',
	'history.restoring': 'Restoring…',
	'history.restored': 'Restored.',
	'history.restoreFailed': 'Could not restore ({reason}).',
	'history.conflictLine': '{loser}’s value “{lost}” was replaced by {winner}’s “{kept}”',
	'history.yes': 'yes',
	'history.no': 'no',
	'history.path.archived': 'Archived',
	'history.path.record': 'Record',
	'history.path.meta': 'Record settings',
	'source.ui': 'app',
	'source.api': 'API',
	'source.import': 'import',
	'source.restore': 'restore',
	'source.merge': 'merge',
	'source.record-merge': 'record merge',
	'source.record-unmerge': 'merge undone',
	'history.path.merge': 'Merge',
	'merge.title': 'Merge records',
	'merge.intro': 'Pick the record that stays and, for each field, the value it keeps. Tags, contacts and activities of all of them are combined without duplicates; every record’s notes are kept. The other records are archived and point to the one that stays.',
	'merge.needTwo': 'Choose at least two records to merge.',
	'merge.loadFailed': 'Record {id} could not be opened: {reason}',
	'merge.survivor': 'Keep this record',
	'merge.survivorBadge': 'Stays',
	'merge.mergedBadge': 'Merged away',
	'merge.alreadyMerged': 'Already merged into another record',
	'merge.field': 'Field',
	'merge.empty': '(empty)',
	'merge.summary': 'What the record that stays will have',
	'merge.summaryTags': 'Tags: {tags}',
	'merge.summaryContacts': 'Contacts added: {count} ({duplicates} duplicates left out)',
	'merge.summaryActivities': 'Activities added: {count} ({duplicates} duplicates left out)',
	'merge.summaryNotes': 'Notes kept from every record ({count}), each under a heading naming it',
	'merge.summaryArchived': 'Archived, pointing to the one that stays: {count}',
	'merge.button': 'Merge {count} records',
	'merge.merging': 'Merging…',
	'merge.failed': 'Not merged: {reason}',
	'merge.cancel': 'Cancel',
	'merge.done': 'Merged {count} records into one.',
	'merge.undo': 'Undo',
	'merge.undoing': 'Undoing…',
	'merge.undone': 'Merge undone: every record is back as it was.',
	'merge.undoFailed': 'Not undone: {reason}',
	'merge.undoAnyway': 'Undo anyway',
	'merge.undoAnywayHelp': 'Undoing now overwrites the changes listed.',
	'merge.takenHere': 'The record you had open was merged into this one.',
	'merge.with': 'Merge with…',
	'merge.withTitle': 'Merge this record with another',
	'merge.search': 'Search by name, company, email…',
	'merge.noMatches': 'No other record matches.',
	'merge.pick': 'Compare and merge',
	'merge.close': 'Close',
	'merge.addRecord': 'Add another record',
	'conflict.title': 'Edits collided',
	'conflict.line': '{loser}’s value “{lost}” for {field} was replaced by {winner}’s “{kept}” at {time}.',
	'conflict.keep': 'Keep',
	'conflict.keepTitle': 'Keep “{kept}” and dismiss this notice',
	'conflict.restore': 'Restore {name}’s value',
	'conflict.failed': 'Could not restore ({reason}).',
	'audit.title': 'Audit log',
	'audit.lead': 'Every change in this workspace, newest first.',
	'audit.link': 'Audit log',
	'audit.linkLead': 'Who changed what, when, and how — with filters and CSV export.',
	'audit.person': 'Person',
	'audit.record': 'Record',
	'audit.field': 'Field',
	'audit.from': 'From',
	'audit.to': 'To',
	'audit.source': 'Source',
	'audit.anySource': 'Any source',
	'audit.anyone': 'Anyone',
	'audit.apply': 'Filter',
	'audit.reset': 'Reset',
	'audit.export': 'Export CSV',
	'audit.when': 'When',
	'audit.who': 'Who',
	'audit.what': 'Change',
	'audit.empty': 'No entries match these filters.',
	'audit.range': '{from}–{to} of {total}',
	'audit.prev': 'Newer',
	'audit.next': 'Older',
	'audit.invalid': 'These filters are not valid: {reason}',
	'audit.recordHint': 'record id',
	'audit.fieldHint': 'company, tags, notes…',
	'audit.anyField': 'Any field',
	'audit.recordGone': 'Record no longer here',
	'audit.recordIs': 'Showing {name}',
	'list.sortBy': 'Sort by',
	'contact.phonePlaceholder': 'e.g. +86 138 0013 8000',
	'conflict.count': 'Edits collided ({count})',
	'conflict.show': 'Show',
	'conflict.hide': 'Hide',

	'board.title': 'Pipeline board',
	'board.groupBy': 'Group by',
	'board.noValue.stage': 'No stage',
	'board.noValue.owner': 'No owner',
	'board.noValue.currency': 'No currency',
	'board.count.one': '1 record',
	'board.count.other': '{count} records',
	'board.noTotal': 'No value',
	'board.totalsNote': 'Totals are summed per currency: amounts in different currencies are not converted or added together.',
	'board.keysHelp': 'To move a card with the keyboard, focus it and press [ or ] (or Alt+← / Alt+→) for the previous or next column. Enter opens the record.',
	'board.howToMove': 'How to move cards',
	'board.dragHelp': 'Drag a card to another column to move it.',
	'board.viewOnly': 'Your role lets you see the board but not move cards.',
	'board.offline': 'Offline: showing the copy kept on this device. Moves are kept here and sent when the connection is back.',
	'board.loading': 'Loading the board…',
	'board.filling': 'Records are still being copied to this device; the board fills in as they arrive.',
	'board.moved': 'Moved {name} to {column}.',
	'board.moveFailed': '{name} could not be moved: {reason}',
	'board.notHere': 'the record is not on this device yet and the server cannot be reached.',
	'board.edge': '{name} is already in the last column that way.',
	'board.showMore': 'Show {count} more',
	'board.emptyColumn': 'Nothing here',
	'board.columns': 'Columns',

	'time.justNow': 'just now'
} as const;

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
	'app.name': 'Accord',
	'app.tagline': '一起维护客户信息',
	'nav.records': '客户',
	'nav.board': '看板',
	'nav.main': '主导航',
	'nav.skip': '跳到主要内容',
	'header.online': '当前在线',
	'header.you': '你',
	'header.signedInAs': '当前身份：{name}',
	'header.language': '语言',
	'header.signOut': '退出登录',
	'header.roleLabel': '你的角色：{role}',
	'nav.settings': '设置',
	'role.admin': '管理员',
	'role.editor': '编辑者',
	'role.viewer': '查看者',
	'role.admin.help': '拥有编辑者的全部权限，并可管理成员、角色和 API 令牌。',
	'role.editor.help': '可以新建和修改客户记录。',
	'role.viewer.help': '只能查看客户记录，不能修改。',
	'status.connecting': '正在连接…',
	'status.online': '已连接',
	'status.offline': '离线，正在重新连接…',
	'status.syncing': '正在同步…',
	'status.pending.one': '1 项更改尚未保存到服务器',
	'status.pending.other': '{count} 项更改尚未保存到服务器',
	'status.title': '与服务器的连接',
	'status.offlinePending.one': '离线 · 1 项更改尚未保存到服务器',
	'status.offlinePending.other': '离线 · {count} 项更改尚未保存到服务器',
	'status.allSaved': '所有更改已保存到服务器',
	'status.keptLocally': '离线时的更改保存在本设备上，连接恢复后自动发送。',

	'field.name': '客户名称',
	'field.company': '公司',
	'field.title': '职位',
	'field.email': '电子邮件',
	'field.phone': '电话',
	'field.website': '网站',
	'field.industry': '行业',
	'field.stage': '阶段',
	'field.owner': '负责人',
	'field.value': '商机金额',
	'field.currency': '币种',
	'field.country': '国家/地区',
	'field.city': '城市',
	'field.address': '地址',
	'field.followUpAt': '下次跟进',
	'field.notSet': '未设置',
	'field.countryHint': '两位代码，如 CN、US',

	'stage.lead': '线索',
	'stage.qualified': '已确认',
	'stage.proposal': '方案',
	'stage.negotiation': '谈判',
	'stage.won': '赢单',
	'stage.lost': '输单',

	'activity.kind': '类型',
	'activity.subject': '主题',
	'activity.at': '时间',
	'activity.done': '已完成',
	'activityKind.call': '电话',
	'activityKind.email': '邮件',
	'activityKind.meeting': '会议',
	'activityKind.task': '任务',
	'activityKind.note': '备注',
	'contact.name': '姓名',
	'contact.title': '职位',
	'contact.email': '电子邮件',
	'contact.phone': '电话',

	'list.title': '客户列表',
	'list.new': '新建客户',
	'list.filterStage': '阶段',
	'list.filterOwner': '负责人',
	'list.allStages': '全部阶段',
	'list.allOwners': '全部负责人',
	'list.showArchived': '显示已归档',
	'list.apply': '筛选',
	'list.clear': '清除筛选',
	'list.tags': '标签',
	'list.updatedAt': '最近更新',
	'list.viewing': '正在查看',
	'list.empty': '没有符合筛选条件的客户。',
	'list.emptyAll': '还没有客户记录，请新建第一条。',
	'list.range': '第 {from}–{to} 条，共 {total} 条',
	'list.search': '搜索客户',
	'list.searchPlaceholder': '姓名、公司、电话、邮箱或拼音，按 / 开始搜索',
	'list.searchHelp': '所有词都须匹配。acme* 表示前缀，"…" 表示短语；可用 stage:won、owner:bob、tag:vip、city:深圳 或 value>100000 筛选。',
	'list.searchSubmit': '搜索',
	'list.searchClear': '清除搜索',
	'list.searchEmpty': '没有与“{q}”匹配的客户。',
	'list.searchInvalid': '无法识别此搜索：{message}',
	'list.previous': '上一页',
	'list.next': '下一页',
	'list.archived': '已归档',
	'list.sortAsc': '升序',
	'list.sortDesc': '降序',
	'list.refreshing': '正在更新…',
	'list.offline': '离线：显示保存在本设备上的副本。',
	'list.unsynced': '尚未保存到服务器',
	'list.private': '仅负责人可见',

	'new.title': '新建客户记录',
	'new.create': '创建',
	'new.creating': '正在创建…',
	'new.cancel': '取消',
	'new.failed': '未能创建客户，请修正下面标出的字段。',
	'new.offline': '当前离线：客户将先创建在本设备上，连接恢复后再发送到服务器。',
	'new.notesLabel': '初始备注（可选）',
	'dup.looksLike': '这看起来像是已有的客户：',
	'dup.open': '打开',
	'dup.createAnyway': '仍然创建',
	'dup.reason.email': '邮箱相同 {value}',
	'dup.reason.phone': '电话相同 {value}',
	'dup.reason.domain': '网站域名相同 {value}',
	'dup.reason.name': '姓名和公司相近',
	'dup.reason.nameOnly': '姓名相同，且都没有公司',
	'dup.kind.email': '邮箱相同',
	'dup.kind.phone': '电话相同',
	'dup.kind.domain': '网站域名相同',
	'dup.kind.name': '姓名和公司相近',
	'dup.confidence': '可能性 {percent}%',
	'dup.banner': '此记录可能与以下记录重复：',
	'dup.title': '重复客户',
	'dup.intro': '看起来是同一客户的记录分组，可能性高的在前。不显示他人的私有记录。',
	'dup.summary': '在 {records} 条记录中发现 {clusters} 组',
	'dup.truncated': '显示前 {shown} 组，共 {total} 组。',
	'dup.none': '没有发现可能重复的记录。',
	'dup.merge': '合并这些记录',
	'dup.records': '{count} 条记录',

	'record.back': '全部客户',
	'record.details': '基本信息',
	'record.tags': '标签',
	'record.contacts': '联系人',
	'record.activities': '跟进活动',
	'record.notes': '备注',
	'record.archive': '归档',
	'record.unarchive': '取消归档',
	'record.archivedBanner': '此客户已归档：除非选择显示已归档，否则不会出现在列表中。',
	'record.loading': '正在连接实时数据…',
	'record.offline': '当前离线：你的更改保存在本设备上，连接恢复后自动发送。',
	'record.createdOffline': '此客户创建于本设备，连接恢复后将发送到服务器。',
	'record.readonlyUntilSynced': '实时数据加载完成后即可编辑。',
	'record.here': '正在查看',
	'record.addContact': '添加联系人',
	'record.addActivity': '添加活动',
	'record.remove': '删除',
	'record.removeItem': '删除 {name}',
	'record.noContacts': '暂无联系人。',
	'record.noActivities': '暂无跟进活动。',
	'record.created': '{name} 创建于 {date}',
	'record.untitled': '未命名客户',
	'record.editing': '{name} 正在编辑',
	'record.apiToken': 'API 令牌',
	'record.viewOnly': '你可以查看此客户，但你的角色不允许修改。',
	'record.private': '仅负责人可见',
	'record.privateBadge': '私密',
	'record.privateHelp': '私密客户只有负责人和管理员能打开，其他人在列表中将看不到它。',
	'record.privateSaving': '正在保存…',
	'record.privateFailed': '可见范围未更改：{reason}',

	'tags.add': '添加',
	'tags.label': '新标签',
	'tags.placeholder': '输入标签后按回车',
	'tags.remove': '删除标签 {tag}',
	'tags.none': '暂无标签。',

	'notes.placeholder': '在此共同编辑备注，所有人都能实时看到你的输入。',

	'error.readOnly': '你的角色是查看者：可以查看客户，但不能修改。',
	'error.notFound.title': '找不到该客户',
	'error.notFound.body': '该客户不存在，或者你没有权限打开。',
	'error.pageNotFound.title': '页面不存在',
	'error.pageNotFound.body': '这个地址没有对应的页面。请检查链接，或返回客户列表。',
	'error.title': '出错了',
	'error.body': '页面无法显示。请稍后重试；如果问题持续出现，请联系管理员。',
	'error.back': '返回客户列表',
	'error.refused': '该客户不存在，或者你没有权限打开。',
	'error.notKept': '服务器没有保留你上一次修改中的一部分。{reason}',
	'error.dismiss': '关闭',
	'error.unavailable': '暂时无法加载该客户，请稍后重试。',
	'error.network': '无法连接服务器，请检查网络后重试。',
	'error.offlineRecord': '本设备上还没有这条客户记录，且无法连接服务器。请联网后再打开。',
	'error.forbidden.title': '没有权限',
	'error.forbidden.body': '你的角色无权打开此页面。如有需要，请联系管理员。',
	'error.signIn.title': '登录未成功',
	'error.signIn.body': '没有任何更改。请从登录页面重新开始；如果问题持续出现，请联系管理员。',
	'error.unauthorised': '你已不在登录状态，请重新登录后继续。',

	'validation.required': '请填写{field}。',
	'validation.length': '{field}最多 {max} 个字符。',
	'validation.email': '“{raw}”不是有效的电子邮件地址，应类似 name@example.com。',
	'validation.phone': '无法识别电话号码“{raw}”，请包含国家代码，例如 +86 138 0013 8000 或 +1 415 555 0100。',
	'validation.url': '“{raw}”不是有效的网址，应类似 example.com。',
	'validation.date': '“{raw}”不是有效日期，请使用 2026-12-31 这样的格式。',
	'validation.money': '{field}必须是大于或等于 0 的数字，“{raw}”不是。',
	'validation.enum': '请从列表中选择{field}。',
	'validation.country': '请使用两位 ISO 国家代码，例如 CN 或 US，而不是“{raw}”。',
	'validation.tagEmpty': '标签不能为空。',
	'validation.tagLong': '标签最多 {max} 个字符。',
	'validation.invalid': '{field}的值无效。',
	'validation.number': '{field}必须是数字，“{raw}”不是。',
	'validation.rating': '{field}是 1 到 5 的评分。',
	'validation.yesno': '请为{field}选择“是”或“否”。',
	'validation.datetime': '“{raw}”不是有效的日期时间，请使用 2026-12-31T09:30+08:00 这样的格式。',
	'validation.retiredOption': '{field}的这个选项已停用，不能再选择。',
	'field.yes': '是',
	'field.no': '否',
	'field.retiredOption': '{label}（已停用）',
	'field.datetimeHint': '2026-12-31T09:30+08:00',
	'field.multiHint': '可多选',
	'list.columns': '显示列',
	'list.columnsHint': '列表显示哪些字段',
	'settings.fields.link': '字段',
	'settings.fields.title': '字段',
	'settings.fields.intro': '本工作区每条记录的字段，按记录页面的显示顺序排列。重命名只改变显示名称，不会改变存储的键；停用会隐藏字段，但保留所有值。',
	'settings.fields.add': '添加字段',
	'settings.fields.labelEn': '名称（英文）',
	'settings.fields.labelZh': '名称（中文）',
	'settings.fields.type': '类型',
	'settings.fields.currency': '货币',
	'settings.fields.options': '选项',
	'settings.fields.optionsHint': '每行一个：英文名称，可再加“|”和中文名称（Trade show | 展会）。',
	'settings.fields.create': '添加',
	'settings.fields.save': '保存',
	'settings.fields.edit': '编辑',
	'settings.fields.cancel': '取消',
	'settings.fields.retire': '停用',
	'settings.fields.restore': '恢复',
	'settings.fields.up': '将{field}上移',
	'settings.fields.down': '将{field}下移',
	'settings.fields.builtin': '内置',
	'settings.fields.retired': '已停用',
	'settings.fields.key': '键',
	'settings.fields.addOption': '添加选项',
	'settings.fields.colour': '颜色',
	'settings.fields.failed': '未做任何更改：{reason}',
	'settings.fields.saved': '已保存：所有打开的页面都已显示。',
	'settings.fields.live': '此处的更改会立即显示在所有打开的页面上。',
	'fieldError.key-taken': '已有使用此键的字段，请换一个名称或键。',
	'fieldError.label-empty': '名称不能为空，请填写英文或中文名称。',
	'fieldError.options': '选择类字段至少需要一个选项。',
	'fieldError.option-label-empty': '每个选项都需要名称。',
	'fieldError.option-taken': '有两个选项名称相同，请分别命名。',
	'fieldError.currency': '金额字段需要指定货币，例如 CNY、USD 或 EUR。',
	'fieldError.required': '此字段是每条记录的必填项，不能停用。',
	'fieldError.too-many': '本工作区的字段数量已达上限，请停用或复用已有字段。',
	'fieldType.text': '文本',
	'fieldType.longtext': '长文本',
	'fieldType.number': '数字',
	'fieldType.money': '金额',
	'fieldType.date': '日期',
	'fieldType.datetime': '日期时间',
	'fieldType.select': '单选',
	'fieldType.multiselect': '多选',
	'fieldType.yesno': '是/否',
	'fieldType.email': '电子邮件',
	'fieldType.phone': '电话',
	'fieldType.url': '网址',
	'fieldType.country': '国家/地区',
	'fieldType.person': '成员',
	'fieldType.rating': '评分（1–5）',
	'colour.grey': '灰色',
	'colour.blue': '蓝色',
	'colour.green': '绿色',
	'colour.yellow': '黄色',
	'colour.orange': '橙色',
	'colour.red': '红色',
	'colour.purple': '紫色',
	'colour.pink': '粉色',

	'signIn.title': '登录 Accord',
	'signIn.lead': '一起维护客户信息。请使用工作账号登录后继续。',
	'signIn.with': '使用 {provider} 登录',
	'signIn.withDemo': '使用演示用户登录',
	'signIn.via': '你将转到 {provider} 登录，完成后回到这里。',
	'signIn.devTitle': '开发用登录，不可用于生产环境',
	'signIn.devBody': '尚未配置身份提供方，因此 Accord 使用内置的开发用登录：任何人无需密码即可以任一演示用户（管理员、编辑者或查看者）身份登录。请不要录入真实客户数据。',
	'signIn.devFix': '如需使用贵单位的统一登录，请设置 OIDC_ISSUER、OIDC_CLIENT_ID 和 OIDC_CLIENT_SECRET（见 README）。',
	'signedOut.title': '你已退出登录',
	'signedOut.body': '你在此设备上的 Accord 会话已结束，实时连接也已关闭。',
	'auth.signInAgain': '重新登录',
	'auth.sessionEnded': '你的会话已结束，请重新登录后继续。',

	'settings.title': '设置',
	'settings.lead': '管理此工作区中每个人的权限，以及其他系统调用 API 所用的令牌。',
	'settings.forbidden': '只有管理员可以更改设置。',
	'members.title': '成员',
	'members.lead': '所有登录过此工作区的人。角色决定每个人能做什么。',
	'members.name': '姓名',
	'members.email': '电子邮件',
	'members.role': '角色',
	'members.source': '角色来源',
	'members.fromProvider': '身份提供方',
	'members.byAdmin': '{name}（管理员）',
	'members.you': '你',
	'members.save': '保存',
	'members.saved': '{name} 的角色已改为{role}。',
	'members.notFound': '此人不是本工作区的成员。',
	'members.invalidRole': '请选择管理员、编辑者或查看者。',
	'members.demoteSelf': '你将不再是管理员，也将无法再打开此设置页面。确定继续吗？',
	'members.providerNote': '如果身份提供方通过用户组指定了角色，此人下次登录时将重新使用该角色。',
	'members.empty': '还没有人登录过。',
	'tokens.title': 'API 令牌',
	'tokens.lead': '其他系统（ERP、电商平台、脚本）可通过请求头“Authorization: Bearer <令牌>”调用 API，并拥有此处指定的角色。',
	'tokens.name': '名称',
	'tokens.role': '角色',
	'tokens.created': '创建时间',
	'tokens.lastUsed': '最近使用',
	'tokens.status': '状态',
	'tokens.never': '从未使用',
	'tokens.active': '有效',
	'tokens.revokedOn': '已于 {date} 撤销',
	'tokens.revoke': '撤销',
	'tokens.revokeConfirm': '确定撤销令牌“{name}”吗？使用它的系统将立即无法访问。',
	'tokens.revoked': '令牌“{name}”已撤销。',
	'tokens.notFound': '该令牌不存在或已被撤销。',
	'tokens.new': '新建令牌',
	'tokens.namePlaceholder': '例如：ERP 同步',
	'tokens.create': '创建令牌',
	'palette.open': '搜索与命令',
	'palette.title': '搜索与命令',
	'palette.placeholder': '搜索客户、页面和操作',
	'palette.records': '客户',
	'palette.pages': '页面',
	'palette.actions': '操作',
	'palette.page.records': '客户',
	'palette.page.board': '看板',
	'palette.page.settings': '设置',
	'palette.page.audit': '审计日志',
	'palette.action.new-record': '新建客户',
	'palette.action.language': '将语言切换为{language}',
	'palette.action.sign-out': '退出登录',
	'palette.goTo': '前往',
	'palette.empty': '没有与“{q}”匹配的结果。',
	'palette.hint': '↑ ↓ 选择 · Enter 打开 · Esc 关闭',
	'palette.local': '已在本设备上搜索',
	'palette.indexing': '正在为本设备上的客户建立索引（{indexed}/{rows}）',
	'palette.more': '在列表中查看全部 {count} 条匹配的客户',
	'palette.archived': '已归档',
	'tokens.creating': '正在创建…',
	'tokens.nameInvalid': '请为令牌起一个不超过 100 个字符的名称，例如“ERP 同步”。',
	'tokens.createdTitle': '已创建令牌“{name}”',
	'tokens.onceWarning': '请立即复制此令牌。它只显示这一次，之后无法再次查看；请妥善保存，例如保存在密码管理器中。',
	'tokens.copy': '复制',
	'tokens.copied': '已复制',
	'tokens.copyFailed': '请选中令牌后手动复制。',
	'tokens.empty': '还没有 API 令牌。',

	'history.title': '历史记录',
	'history.lead': '此记录的每一次更改：谁、何时、之前是什么。',
	'history.fieldButton': '历史',
	'history.fieldButtonTitle': '查看“{field}”的历史',
	'history.filterField': '字段',
	'history.filterPerson': '人员',
	'history.allFields': '全部字段',
	'history.allPeople': '所有人',
	'history.clear': '清除筛选',
	'history.empty': '还没有更改。',
	'history.emptyFiltered': '没有符合筛选条件的更改。',
	'history.loading': '正在加载历史记录…',
	'history.loadFailed': '无法加载历史记录（{reason}）。',
	'history.more': '显示更早的更改',
	'history.count': '共 {total} 条更改，已显示 {shown} 条',
	'history.none': '空',
	'history.created': '创建了此记录',
	'history.cleared': '已清空（原为 {before}）',
	'history.added': '添加了 {value}',
	'history.removed': '删除了 {value}',
	'history.notesAdded.one': '新增 {count} 个字符',
	'history.notesAdded.other': '新增 {count} 个字符',
	'history.notesRemoved.only': '删除 {count} 个字符',
	'history.notesEdit2': '{added}，删除 {count} 个',
	'history.emptyContact': '一个新的空联系人',
	'history.activity': '{kind}：{subject}',
	'history.changes.other': '{count} 次编辑',
	'history.relayed': '由 {name} 转发',
	'history.restore': '恢复',
	'history.restoreTitle': '恢复为“{value}”',
	'history.restoring': '正在恢复…',
	'history.restored': '已恢复。',
	'history.restoreFailed': '无法恢复（{reason}）。',
	'history.conflictLine': '{loser} 的值“{lost}”被 {winner} 的“{kept}”替换',
	'history.yes': '是',
	'history.no': '否',
	'history.path.archived': '已归档',
	'history.path.record': '记录',
	'history.path.meta': '记录设置',
	'source.ui': '应用',
	'source.api': 'API',
	'source.import': '导入',
	'source.restore': '恢复',
	'source.merge': '合并',
	'source.record-merge': '合并记录',
	'source.record-unmerge': '撤销合并',
	'history.path.merge': '合并',
	'merge.title': '合并客户',
	'merge.intro': '选择保留的客户，并为每个字段选择要保留的值。所有客户的标签、联系人和活动会合并并去重；每个客户的备注都会保留。其他客户将被归档，并指向保留的客户。',
	'merge.needTwo': '请至少选择两个客户进行合并。',
	'merge.loadFailed': '无法打开客户 {id}：{reason}',
	'merge.survivor': '保留此客户',
	'merge.survivorBadge': '保留',
	'merge.mergedBadge': '将被合并',
	'merge.alreadyMerged': '已合并到另一个客户',
	'merge.field': '字段',
	'merge.empty': '（空）',
	'merge.summary': '合并后保留的客户将包含',
	'merge.summaryTags': '标签：{tags}',
	'merge.summaryContacts': '新增 {count} 位联系人（去掉 {duplicates} 个重复）',
	'merge.summaryActivities': '新增 {count} 条活动（去掉 {duplicates} 个重复）',
	'merge.summaryNotes': '保留 {count} 个客户的备注，各自标明来源',
	'merge.summaryArchived': '{count} 个客户将被归档，并指向保留的客户',
	'merge.button': '合并 {count} 个客户',
	'merge.merging': '正在合并…',
	'merge.failed': '未合并：{reason}',
	'merge.cancel': '取消',
	'merge.done': '已将 {count} 个客户合并为一个。',
	'merge.undo': '撤销',
	'merge.undoing': '正在撤销…',
	'merge.undone': '已撤销合并：所有客户已恢复原样。',
	'merge.undoFailed': '未撤销：{reason}',
	'merge.undoAnyway': '仍然撤销',
	'merge.undoAnywayHelp': '现在撤销会覆盖以上列出的更改。',
	'merge.takenHere': '你打开的客户已合并到此客户。',
	'merge.with': '与…合并',
	'merge.withTitle': '将此客户与另一个客户合并',
	'merge.search': '按名称、公司、邮箱搜索…',
	'merge.noMatches': '没有其他匹配的客户。',
	'merge.pick': '比较并合并',
	'merge.close': '关闭',
	'merge.addRecord': '再添加一个客户',
	'conflict.title': '编辑发生冲突',
	'conflict.line': '{loser} 为“{field}”填写的值“{lost}”于 {time} 被 {winner} 的“{kept}”替换。',
	'conflict.keep': '保留',
	'conflict.keepTitle': '保留“{kept}”并关闭此提示',
	'conflict.restore': '恢复 {name} 的值',
	'conflict.failed': '无法恢复（{reason}）。',
	'audit.title': '审计日志',
	'audit.lead': '此工作区中的每一次更改，最新的在前。',
	'audit.link': '审计日志',
	'audit.linkLead': '谁在何时以何种方式更改了什么——可筛选并导出 CSV。',
	'audit.person': '人员',
	'audit.record': '记录',
	'audit.field': '字段',
	'audit.from': '从',
	'audit.to': '到',
	'audit.source': '来源',
	'audit.anySource': '任意来源',
	'audit.anyone': '任何人',
	'audit.apply': '筛选',
	'audit.reset': '重置',
	'audit.export': '导出 CSV',
	'audit.when': '时间',
	'audit.who': '人员',
	'audit.what': '更改',
	'audit.empty': '没有符合筛选条件的条目。',
	'audit.range': '第 {from}–{to} 条，共 {total} 条',
	'audit.prev': '较新',
	'audit.next': '较早',
	'audit.invalid': '筛选条件无效：{reason}',
	'audit.recordHint': '记录 ID',
	'audit.fieldHint': 'company、tags、notes…',
	'audit.anyField': '任意字段',
	'audit.recordGone': '记录已不存在',
	'audit.recordIs': '当前记录：{name}',
	'list.sortBy': '排序',
	'contact.phonePlaceholder': '如 +86 138 0013 8000',
	'conflict.count': '编辑发生冲突（{count}）',
	'conflict.show': '查看',
	'conflict.hide': '收起',

	'board.title': '销售看板',
	'board.groupBy': '分组依据',
	'board.noValue.stage': '未设阶段',
	'board.noValue.owner': '无负责人',
	'board.noValue.currency': '未设币种',
	'board.count.one': '1 条记录',
	'board.count.other': '{count} 条记录',
	'board.noTotal': '无金额',
	'board.totalsNote': '金额按币种分别合计：不同币种的金额不做换算，也不相加。',
	'board.keysHelp': '用键盘移动卡片：选中卡片后按 [ 或 ]（或 Alt+← / Alt+→）移到上一列或下一列；按 Enter 打开记录。',
	'board.howToMove': '如何移动卡片',
	'board.dragHelp': '把卡片拖到另一列即可移动。',
	'board.viewOnly': '你的角色可以查看看板，但不能移动卡片。',
	'board.offline': '离线：显示保存在本设备上的副本。移动会先保存在本设备上，连接恢复后再发送。',
	'board.loading': '正在加载看板…',
	'board.filling': '记录仍在复制到本设备，看板会随之补全。',
	'board.moved': '已将 {name} 移到“{column}”。',
	'board.moveFailed': '无法移动 {name}：{reason}',
	'board.notHere': '该记录尚未保存到本设备，且无法连接服务器。',
	'board.edge': '{name} 已经在这一侧的最后一列。',
	'board.showMore': '再显示 {count} 条',
	'board.emptyColumn': '暂无记录',
	'board.columns': '列',

	'time.justNow': '刚刚'
};

const dictionaries: Record<Locale, Record<MessageKey, string>> = { en, zh };

export type Params = Record<string, string | number>;

function interpolate(template: string, params?: Params): string {
	if (!params) return template;
	return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in params ? String(params[name]) : match));
}

/** The string for `key` in a given locale. */
export function translate(locale: Locale, key: MessageKey, params?: Params): string {
	return interpolate(dictionaries[locale][key] ?? en[key] ?? key, params);
}

/** The current locale (reactive when read in a template or effect). */
export function getLocale(): Locale {
	return current.locale;
}

export function setLocale(locale: Locale): void {
	if (current.locale !== locale) current.locale = locale;
}

/** The string for `key` in the current locale; reactive in templates. */
export function t(key: MessageKey, params?: Params): string {
	return translate(current.locale, key, params);
}

/** Looks up a dynamic key (`stage.won`, `field.email`…), falling back to `fallback`. */
export function tMaybe(key: string, fallback: string, params?: Params): string {
	return has(key) ? t(key, params) : fallback;
}

function has(key: string): key is MessageKey {
	return key in en;
}

export function fieldLabel(key: string, locale: Locale = current.locale): string {
	const k = `field.${key}`;
	return has(k) ? translate(locale, k) : key;
}

export function stageLabel(stage: string | null | undefined, locale: Locale = current.locale): string {
	if (!stage) return '';
	const k = `stage.${stage}`;
	return has(k) ? translate(locale, k) : stage;
}

/** A field's name as its definition gives it in a locale, then in the other, then the app's own name for a built-in. */
export function definitionLabel(definition: FieldDefinition, locale: Locale = current.locale): string {
	const other = locale === 'zh' ? 'en' : 'zh';
	return definition.label[locale] || (definition.builtin ? fieldLabel(definition.key, locale) : '') || definition.label[other] || fieldLabel(definition.key, locale);
}

/** An option's name: its label in the locale or the other, the stage's name for the built-in stages, else its key. */
export function optionLabel(definition: FieldDefinition, key: string, locale: Locale = current.locale): string {
	const option = definition.options.find((o) => o.key === key);
	const other = locale === 'zh' ? 'en' : 'zh';
	if (option?.label[locale]) return option.label[locale];
	if (definition.key === 'stage') return stageLabel(key, locale);
	return option?.label[other] || key;
}

/** A role's name ("Editor" / "编辑者"); its one-line description with `help`. */
export function roleLabel(role: string | null | undefined, help = false, locale: Locale = current.locale): string {
	if (!role) return '';
	const k = help ? `role.${role}.help` : `role.${role}`;
	return has(k) ? translate(locale, k) : role;
}

/** A validation failure from `$lib/model/validate` in words of a locale (the current one by default). */
export function validationMessage(
	result: Validated<unknown>,
	field: string,
	raw: unknown,
	maxLength?: number,
	locale: Locale = current.locale,
	/** The field's name as its definition gives it (custom fields); the built-in name otherwise. */
	label?: string
): string {
	if (result.ok) return '';
	const params: Params = { field: label ?? fieldLabel(field, locale), raw: String(raw ?? ''), max: maxLength ?? '' };
	switch (result.code) {
		case 'number':
		case 'rating':
		case 'yesno':
		case 'datetime':
			return translate(locale, `validation.${result.code}`, params);
		case 'retired-option':
			return translate(locale, 'validation.retiredOption', params);
		case 'required':
		case 'length':
		case 'email':
		case 'phone':
		case 'url':
		case 'date':
		case 'money':
		case 'enum':
		case 'country':
			return translate(locale, `validation.${result.code}`, params);
		case 'tag':
			return String(raw ?? '').trim() === '' ? translate(locale, 'validation.tagEmpty') : translate(locale, 'validation.tagLong', { max: 40 });
		default:
			return locale === 'en' ? result.message : translate(locale, 'validation.invalid', params);
	}
}

// ---------------------------------------------------------------- formatting

function intlTag(): string {
	return current.locale === 'zh' ? 'zh-CN' : 'en-GB';
}

/** A money value with its currency in the current locale; plain number when there is no currency. */
export function formatMoney(value: number | null | undefined, currency: string | null | undefined): string {
	if (value === null || value === undefined) return '';
	// Whole amounts without ".00": deal values are mostly round numbers.
	const digits = Number.isInteger(value) ? { minimumFractionDigits: 0, maximumFractionDigits: 0 } : { minimumFractionDigits: 2, maximumFractionDigits: 2 };
	try {
		if (currency) {
			return new Intl.NumberFormat(intlTag(), { style: 'currency', currency, ...digits }).format(value);
		}
	} catch {
		/* unknown currency code: fall through */
	}
	const plain = new Intl.NumberFormat(intlTag(), digits).format(value);
	return currency ? `${plain} ${currency}` : plain;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
	['year', 365 * 24 * 3600],
	['month', 30 * 24 * 3600],
	['week', 7 * 24 * 3600],
	['day', 24 * 3600],
	['hour', 3600],
	['minute', 60]
];

/** "3 minutes ago" / "3分钟前", relative to `now` (ms). */
export function formatRelative(iso: string | null | undefined, now: number): string {
	if (!iso) return '';
	const then = Date.parse(iso);
	if (Number.isNaN(then)) return '';
	const seconds = Math.round((then - now) / 1000);
	if (Math.abs(seconds) < 45) return t('time.justNow');
	const format = new Intl.RelativeTimeFormat(intlTag(), { numeric: 'auto' });
	for (const [unit, size] of UNITS) {
		if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
	}
	return format.format(Math.round(seconds / 60), 'minute');
}

export function formatDateTime(iso: string | null | undefined): string {
	if (!iso) return '';
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) return iso;
	return new Intl.DateTimeFormat(intlTag(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

/** A time of day in the reader's locale: "23:00" in Chinese and British English, never the browser's own default. */
export function formatTime(iso: string | null | undefined): string {
	if (!iso) return '';
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) return iso;
	return new Intl.DateTimeFormat(intlTag(), { timeStyle: 'short' }).format(date);
}

export function formatDate(iso: string | null | undefined): string {
	if (!iso) return '';
	const date = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
	if (Number.isNaN(date.getTime())) return iso;
	return new Intl.DateTimeFormat(intlTag(), { dateStyle: 'medium' }).format(date);
}

/** Country name for an ISO code in the current locale ("CN" → "China" / "中国"). */
export function countryName(code: string | null | undefined): string {
	if (!code) return '';
	try {
		return new Intl.DisplayNames([intlTag()], { type: 'region' }).of(code) ?? code;
	} catch {
		return code;
	}
}
