/**
 * One record: on a client-side navigation from this device's copy first (instant, and
 * offline), then live from the server as the record page syncs; otherwise (server
 * rendering, hydration, no local copy) from the API. A record neither here nor
 * reachable is an error that says so.
 */
import { signInAgain } from '$lib/sync/sign-in-again.ts';
import { browser } from '$app/environment';
import { error } from '@sveltejs/kit';
import { canEdit } from '$lib/access.ts';
import type { CustomerRecord } from '$lib/model/record.ts';
import { translate } from '$lib/i18n/index.ts';
import { isHydrated, localRecord, localStoreFor } from '$lib/local/index.ts';
import type { PageLoad } from './$types';

type ServerRecord = CustomerRecord & { private: boolean };

export const load = (async ({ params, fetch, parent }) => {
	const { person, role, workspace, locale } = await parent();
	const editor = role !== null && canEdit({ role });
	const page = (record: CustomerRecord, isPrivate: boolean, source: 'server' | 'local', createdLocally = false) => ({
		record: { ...record, private: isPrivate },
		canEdit: editor,
		canChangePrivacy: role === 'admin' || (person !== null && record.fields.owner === person.id),
		source,
		createdLocally
	});

	const local = browser && person ? await localStoreFor(workspace, person.id).catch(() => null) : null;
	const fromLocal = async () => {
		if (!local) return null;
		const kept = await localRecord(local, params.id).catch(() => null);
		if (!kept) return null;
		const row = await local.row(params.id).catch(() => null);
		return page(kept.record, row?.private === true, 'local', kept.createdLocally);
	};

	if (isHydrated()) {
		const kept = await fromLocal();
		if (kept) return kept;
	}

	let response: Response | null = null;
	try {
		response = await fetch(`/api/records/${encodeURIComponent(params.id)}`, { headers: { accept: 'application/json' } });
	} catch {
		response = null;
	}
	if (response?.status === 404) error(404, { message: 'This record does not exist or you cannot open it.', code: 'not-found' });
	if (response?.status === 401 && browser) {
		signInAgain(window.location.pathname);
		return new Promise<never>(() => {});
	}
	if (response?.ok) {
		const record = (await response.json()) as ServerRecord;
		return page(record, record.private, 'server');
	}
	// Answered, but not with the record, and not because it is unreachable (a gateway or the service worker say 502–504).
	if (response && response.status < 502) error(response.status, { message: `This record could not be loaded (HTTP ${response.status}).` });
	const kept = await fromLocal();
	if (kept) return kept;
	error(503, { message: translate(locale, 'error.offlineRecord'), code: 'offline' });
}) satisfies PageLoad;
