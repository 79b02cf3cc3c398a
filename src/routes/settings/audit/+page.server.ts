/**
 * The workspace's audit log for admins: filters in the query string (person, record,
 * field, from, to, source), one page of entries, and a CSV export of everything that
 * matches (`/api/audit?…&format=csv`). The settings layout already refuses non-admins;
 * this load checks again, as it runs alongside the layout's.
 */
import { error } from '@sveltejs/kit';
import { canAdminister } from '$lib/access.ts';
import type { AuditPage } from '$lib/model/audit.ts';
import { parseAuditQuery } from '$lib/server/params.ts';
import { isForbidden, services } from '$lib/server/services.ts';
import type { PageServerLoad } from './$types';

const PAGE_SIZE = 50;

const FILTERS = ['person', 'record', 'field', 'from', 'to', 'source'] as const;

export const load: PageServerLoad = async ({ locals, url }) => {
	const actor = locals.actor;
	if (!actor || !canAdminister(actor)) error(403, { message: 'Only admins can open the settings.', code: 'forbidden' });

	const filters: Record<(typeof FILTERS)[number], string> = { person: '', record: '', field: '', from: '', to: '', source: '' };
	const params = new URLSearchParams();
	for (const name of FILTERS) {
		const value = url.searchParams.get(name)?.trim() ?? '';
		filters[name] = value;
		if (value) params.set(name, value);
	}
	// A day picked as "to" means up to the end of that day.
	const query = new URLSearchParams(params);
	if (/^\d{4}-\d\d-\d\d$/.test(filters.to)) query.set('to', `${filters.to}T23:59:59.999Z`);
	query.set('limit', String(PAGE_SIZE));
	query.set('offset', url.searchParams.get('offset') ?? '0');

	const { admin, audit } = services();
	const members = await admin.members(actor).catch(() => []);
	// Read as the API reads it: an odd filter is shown as the reason, never sent to the database.
	const parsed = parseAuditQuery(query);
	const offset = parsed.ok ? parsed.query.offset : 0;
	let page: AuditPage = { entries: [], total: 0 };
	let invalid: string | null = null;
	if (parsed.ok) {
		try {
			page = await audit.search(actor, parsed.query);
		} catch (failure) {
			if (isForbidden(failure)) error(403, { message: 'Only admins can read the audit log.', code: 'forbidden' });
			throw failure;
		}
	} else invalid = parsed.message;

	// Records are named as people know them: the projection's name of each record on this
	// page (and of the one filtered by), read as the admin reads it. A record gone since is null.
	const { records } = services();
	const ids = [...new Set([...page.entries.map((entry) => entry.recordId), filters.record].filter((id): id is string => Boolean(id)))];
	const recordNames: Record<string, string | null> = {};
	await Promise.all(
		ids.map(async (id) => {
			const record = await records.get(actor, id).catch(() => null);
			recordNames[id] = record ? (typeof record.fields.name === 'string' ? record.fields.name : '') : null;
		})
	);

	const csv = new URLSearchParams(query);
	csv.delete('limit');
	csv.delete('offset');
	csv.set('format', 'csv');

	return {
		filters,
		offset,
		pageSize: PAGE_SIZE,
		entries: page.entries,
		recordNames,
		total: page.total,
		invalid,
		members: members.map((m) => ({ id: m.id, name: m.name, email: m.email ?? '' })),
		exportHref: `/api/audit?${csv}`,
		baseQuery: params.toString()
	};
};
