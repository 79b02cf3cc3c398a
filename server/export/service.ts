/**
 * Exports: the records an actor may see (private records of others left out, as in
 * their list), matching the list's search and archive filter, read a page at a time
 * (their documents loaded together, the live copy where one is open) and written by
 * formats.ts as they come. Nothing holds more than a page of records.
 */
import * as Y from 'yjs';
import { canAdminister, type Actor } from '../../src/lib/access.ts';
import { readRecord, type CustomerRecord, newDoc } from '../../src/lib/model/record.ts';
import type { SearchQuery } from '../../src/lib/search/query.ts';
import type { ListSort } from '../../src/lib/records/sort.ts';
import type { DocumentStore } from '../store/types.ts';
import type { Rooms } from '../sync/rooms.ts';
import { CONTENT_TYPES, writeExport, type ExportFormat } from './formats.ts';

/** Records listed and loaded per round trip. */
export const EXPORT_PAGE = 500;

export interface ExportQuery {
	format: ExportFormat;
	search?: SearchQuery;
	includeArchived?: boolean;
	/** A view's columns (field keys, in order): CSV and Excel hold the id and these only. */
	columns?: readonly string[];
	/** A view's order; by name A→Z when absent. */
	sort?: ListSort;
	descending?: boolean;
}

export interface ExportFile {
	contentType: string;
	filename: string;
	body: AsyncGenerator<Uint8Array>;
}

export interface ExportDeps {
	store: DocumentStore;
	/** Open documents, whose live state is newer than the stored one; absent on the command line. */
	rooms?: Pick<Rooms, 'loaded'>;
	workspace: string;
}

export interface ExportService {
	/** Every visible record in the query's order (name A→Z unless it says), a page at a time. */
	records(actor: Actor, query: Omit<ExportQuery, 'format'>): AsyncGenerator<CustomerRecord>;
	open(actor: Actor, query: ExportQuery): ExportFile;
}

export function createExportService({ store, rooms, workspace }: ExportDeps): ExportService {
	async function read(id: string): Promise<CustomerRecord | null> {
		const room = rooms?.loaded(id);
		if (room) return readRecord(room.doc, id);
		const stored = await store.loadDocument(id);
		if (!stored) return null;
		const doc = newDoc();
		try {
			if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
			for (const update of stored.updates) Y.applyUpdate(doc, update);
			return readRecord(doc, id);
		} finally {
			doc.destroy();
		}
	}

	async function* records(actor: Actor, query: Omit<ExportQuery, 'format'>): AsyncGenerator<CustomerRecord> {
		if (actor.workspace !== workspace) return;
		for (let offset = 0; ; offset += EXPORT_PAGE) {
			const page = await store.listRecords({
				workspace,
				viewer: { id: actor.id, admin: canAdminister(actor) },
				search: query.search,
				includeArchived: query.includeArchived,
				sort: query.sort ?? 'name',
				descending: query.sort ? query.descending === true : false,
				limit: EXPORT_PAGE,
				offset,
				// Nothing here reads the total: counted only as far as this page needs.
				countUpTo: offset + EXPORT_PAGE + 1
			});
			// Loaded together: the store batches reads asked for in one turn into one statement.
			const loaded = await Promise.all(page.rows.map((row) => read(row.id)));
			for (const record of loaded) if (record) yield record;
			if (page.rows.length < EXPORT_PAGE) return;
		}
	}

	return {
		records,
		open(actor, query) {
			const stamp = new Date().toISOString().slice(0, 10);
			return {
				contentType: CONTENT_TYPES[query.format],
				filename: `accord-records-${stamp}.${query.format}`,
				body: writeExport(query.format, records(actor, query), query.columns)
			};
		}
	};
}
