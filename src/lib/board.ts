/**
 * The pipeline board's arithmetic, kept out of the route so it can be tested on
 * hand-computed data: which fields a board may be grouped by, its columns in order,
 * the cards of each column, counts and money totals per currency, and which column a
 * card moves to by keyboard. Pure functions over list rows (the local copy's rows).
 */
import { CURRENCIES, CUSTOM_FIELD_PREFIX, STAGES, type FieldDefinition } from './model/schema.ts';
import type { RecordRow } from './model/projection.ts';

/** What a board needs of a row: the list row (projection), as the local copy keeps it (custom values included). */
export type BoardRow = Pick<RecordRow, 'id' | 'name' | 'company' | 'stage' | 'owner' | 'value' | 'currency' | 'archived'> & Pick<Partial<RecordRow>, 'custom'>;

/**
 * The built-in fields a board can be grouped by: stage (the pipeline, first), the owner
 * and the currency. Besides these, each of the workspace's own select fields (`x_…`) is a
 * pipeline of its own (a renewals pipeline, a partner programme's stages…): see
 * `groupableFields`.
 */
export const GROUP_BY_FIELDS = ['stage', 'owner', 'currency'] as const;
/** A built-in of GROUP_BY_FIELDS or the key of a custom select field. */
export type GroupBy = string;

/** Custom select fields a board may be grouped by: not retired, with at least one option. */
function isPipelineField(definition: FieldDefinition): boolean {
	return definition.key.startsWith(CUSTOM_FIELD_PREFIX) && definition.type === 'select' && !definition.retired && definition.options.some((option) => !option.retired);
}

/** Every field this workspace's board may be grouped by: the built-ins, then its own select fields in their order. */
export function groupableFields(definitions: readonly FieldDefinition[] = []): GroupBy[] {
	return [...GROUP_BY_FIELDS, ...definitions.filter(isPipelineField).map((definition) => definition.key)];
}

export function isGroupBy(value: unknown, definitions: readonly FieldDefinition[] = []): value is GroupBy {
	return typeof value === 'string' && groupableFields(definitions).includes(value);
}

/** The group-by of a `?by=` parameter: stage unless it names another groupable field of the workspace. */
export function readGroupBy(param: string | null, definitions: readonly FieldDefinition[] = []): GroupBy {
	return isGroupBy(param, definitions) ? param : 'stage';
}

/** A column's value: the field value its cards hold, or null for "not set". */
export type ColumnValue = string | null;

export interface CurrencyTotal {
	/** ISO code, or null for values without a currency. */
	currency: string | null;
	amount: number;
}

export interface BoardColumn<R extends BoardRow = BoardRow> {
	value: ColumnValue;
	cards: R[];
	count: number;
	/** One total per currency present, in CURRENCIES order (others after, by code; no currency last). */
	totals: CurrencyTotal[];
}

export function valueOf(row: BoardRow, field: GroupBy): ColumnValue {
	const value = field.startsWith(CUSTOM_FIELD_PREFIX) ? row.custom?.[field] : row[field as (typeof GROUP_BY_FIELDS)[number]];
	return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * The column values of a board, in order: the field's options (stages in pipeline
 * order, currencies, the workspace's people for owner, or a custom select field's
 * options as its definition orders them, retired ones left out), then any other value
 * some row holds (an owner who left the workspace, an option since retired), then "not
 * set" last.
 */
export function columnValues(field: GroupBy, rows: readonly BoardRow[], people: readonly { id: string }[] = [], definitions: readonly FieldDefinition[] = []): ColumnValue[] {
	const options = (definitions.find((definition) => definition.key === field)?.options ?? []).filter((option) => !option.retired).map((option) => option.key);
	const known: string[] = field === 'stage' ? [...STAGES] : field === 'currency' ? [...CURRENCIES] : field === 'owner' ? people.map((p) => p.id) : options;
	const seen = new Set(known);
	const extra = new Set<string>();
	for (const row of rows) {
		const value = valueOf(row, field);
		if (value !== null && !seen.has(value)) extra.add(value);
	}
	return [...known, ...[...extra].sort(), null];
}

const currencyRank = (currency: string | null): number => {
	if (currency === null) return CURRENCIES.length + 1;
	const index = (CURRENCIES as readonly string[]).indexOf(currency);
	return index < 0 ? CURRENCIES.length : index;
};

/**
 * Sums values per currency. Amounts in different currencies are never added together
 * (no rates are set), and sums are taken in hundredths so 0.1 + 0.2 stays 0.3.
 * Rows without a value count for nothing; a value without a currency is its own total.
 */
export function totalsByCurrency(rows: readonly BoardRow[]): CurrencyTotal[] {
	const cents = new Map<string | null, number>();
	for (const row of rows) {
		if (typeof row.value !== 'number' || !Number.isFinite(row.value)) continue;
		const currency = row.currency && row.currency !== '' ? row.currency : null;
		cents.set(currency, (cents.get(currency) ?? 0) + Math.round(row.value * 100));
	}
	return [...cents.entries()]
		.map(([currency, sum]) => ({ currency, amount: sum / 100 }))
		.sort((a, b) => currencyRank(a.currency) - currencyRank(b.currency) || String(a.currency).localeCompare(String(b.currency)));
}

/**
 * Each row's name as cards are ordered by it, kept per row object. The board is built
 * again on every change (every 50 ms while a first copy arrives), and lower-casing both
 * names in each comparison was most of the time a board of 10,000 cards took to build.
 * Rows are replaced, not changed, when their record changes; the name is kept beside its
 * key all the same, so a row whose name was changed in place is keyed again.
 */
const sortNames = new WeakMap<BoardRow, { name: string; key: string }>();

function sortKey(row: BoardRow): string {
	const known = sortNames.get(row);
	if (known && known.name === row.name) return known.key;
	const key = row.name.toLocaleLowerCase();
	sortNames.set(row, { name: row.name, key });
	return key;
}

/** Cards in a column: by name, then id, so a card's place does not jump as others change. */
function sortedByName<R extends BoardRow>(rows: readonly R[]): R[] {
	const keyed = rows.map((row) => ({ key: sortKey(row), row }));
	keyed.sort((a, b) => (a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0));
	return keyed.map((entry) => entry.row);
}

/** The board: every column of `field` (empty ones included), archived rows left out. */
export function buildBoard<R extends BoardRow>(rows: readonly R[], field: GroupBy, people: readonly { id: string }[] = [], definitions: readonly FieldDefinition[] = []): BoardColumn<R>[] {
	const visible = rows.filter((row) => !row.archived);
	const columns = new Map<ColumnValue, R[]>(columnValues(field, visible, people, definitions).map((value) => [value, []]));
	for (const row of visible) columns.get(valueOf(row, field))?.push(row);
	return [...columns.entries()].map(([value, rowsOfColumn]) => {
		const cards = sortedByName(rowsOfColumn);
		return { value, cards, count: cards.length, totals: totalsByCurrency(cards) };
	});
}

export type MoveDirection = -1 | 1;

/** The keys that move a focused card: `[` / `]`, or Alt+← / Alt+→ (no other modifier). */
export function moveDirectionOfKey(event: { key: string; altKey: boolean; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }): MoveDirection | null {
	if (event.ctrlKey || event.metaKey) return null;
	if (!event.altKey && !event.shiftKey) {
		if (event.key === '[') return -1;
		if (event.key === ']') return 1;
	}
	if (event.altKey && !event.shiftKey) {
		if (event.key === 'ArrowLeft') return -1;
		if (event.key === 'ArrowRight') return 1;
	}
	return null;
}

/**
 * The column a card in `from` moves to by keyboard: the previous or next one, or
 * undefined at either end (no wrapping: a card moved past "lost" does not land in
 * "lead"). `undefined` too when `from` is not a column of this board.
 */
export function moveTarget(columns: readonly ColumnValue[], from: ColumnValue, direction: MoveDirection): ColumnValue | undefined {
	const index = columns.indexOf(from);
	if (index < 0) return undefined;
	const next = index + direction;
	return next >= 0 && next < columns.length ? columns[next] : undefined;
}
