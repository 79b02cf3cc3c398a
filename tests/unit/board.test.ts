/**
 * The pipeline board's arithmetic on hand-computed rows: columns in pipeline order with
 * "not set" last, archived rows left out, counts, totals summed per currency (never
 * across currencies), cards by name on every build, and the column a keyboard move lands in.
 */
import { describe, expect, it } from 'vitest';
import { buildBoard, columnValues, groupableFields, moveDirectionOfKey, moveTarget, readGroupBy, totalsByCurrency, type BoardRow } from '../../src/lib/board.ts';
import { BUILTIN_DEFINITIONS, type FieldDefinition, type FieldOption } from '../../src/lib/model/schema.ts';

let n = 0;
function row(fields: Partial<BoardRow>): BoardRow {
	n++;
	return { id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, name: `R${n}`, company: null, stage: null, owner: null, value: null, currency: null, archived: false, ...fields };
}

const keys = (key: string, mods: Partial<{ altKey: boolean; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }> = {}) => ({
	key,
	altKey: false,
	ctrlKey: false,
	metaKey: false,
	shiftKey: false,
	...mods
});

describe('board grouping', () => {
	const rows = [
		row({ name: 'Beta', stage: 'lead', owner: 'alice', value: 1_000_000, currency: 'CNY' }),
		row({ name: 'alpha', stage: 'lead', owner: 'bob', value: 200_000, currency: 'CNY' }),
		row({ name: 'Gamma', stage: 'lead', owner: 'alice', value: 35_000, currency: 'USD' }),
		row({ name: 'Delta', stage: 'won', owner: 'gone', value: 10, currency: 'EUR' }),
		row({ name: 'Epsilon', stage: null, owner: null }),
		row({ name: 'Archived', stage: 'lead', owner: 'alice', value: 999, currency: 'CNY', archived: true })
	];

	it('groups by stage in pipeline order, "no stage" last, every stage shown even when empty', () => {
		const board = buildBoard(rows, 'stage');
		expect(board.map((c) => c.value)).toEqual(['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost', null]);
		expect(board.map((c) => c.count)).toEqual([3, 0, 0, 0, 1, 0, 1]);
		// By name, case-insensitively; the archived row is not on the board.
		expect(board[0].cards.map((c) => c.name)).toEqual(['alpha', 'Beta', 'Gamma']);
		expect(board.flatMap((c) => c.cards).some((c) => c.archived)).toBe(false);
	});

	it('orders cards by name on every build, a same name by id, and a name changed on the row itself where it now belongs', () => {
		const same = [row({ name: 'Zhao', stage: 'lead' }), row({ name: 'zhao', stage: 'lead' }), row({ name: 'Adams', stage: 'lead' })];
		expect(buildBoard(same, 'stage')[0].cards.map((c) => c.id)).toEqual([same[2].id, same[0].id, same[1].id]);
		// Each name's key is kept with its row between builds: a name edited in place must not keep the old place.
		same[2].name = 'zz top';
		expect(buildBoard(same, 'stage')[0].cards.map((c) => c.name)).toEqual(['Zhao', 'zhao', 'zz top']);
		expect(buildBoard([...same].reverse(), 'stage')[0].cards.map((c) => c.name)).toEqual(['Zhao', 'zhao', 'zz top']);
	});

	it('totals each column per currency: ¥1,200,000 and $35,000 in "lead", not one sum', () => {
		const lead = buildBoard(rows, 'stage')[0];
		expect(lead.totals).toEqual([
			{ currency: 'CNY', amount: 1_200_000 },
			{ currency: 'USD', amount: 35_000 }
		]);
		expect(buildBoard(rows, 'stage')[6].totals).toEqual([]);
	});

	it('groups by owner: the workspace people in their order, an unknown owner after them, "no owner" last', () => {
		const board = buildBoard(rows, 'owner', [{ id: 'alice' }, { id: 'bob' }, { id: 'carol' }]);
		expect(board.map((c) => c.value)).toEqual(['alice', 'bob', 'carol', 'gone', null]);
		expect(board.map((c) => c.count)).toEqual([2, 1, 0, 1, 1]);
		expect(board[0].totals).toEqual([
			{ currency: 'CNY', amount: 1_000_000 },
			{ currency: 'USD', amount: 35_000 }
		]);
	});

	it('groups by currency, the other select field rows carry', () => {
		expect(columnValues('currency', rows)).toEqual(['CNY', 'USD', 'EUR', 'GBP', 'JPY', 'HKD', 'SGD', null]);
		expect(buildBoard(rows, 'currency').map((c) => c.count)).toEqual([2, 1, 1, 0, 0, 0, 0, 1]);
	});

	it('reads ?by= and falls back to stage', () => {
		expect(readGroupBy('owner')).toBe('owner');
		expect(readGroupBy('currency')).toBe('currency');
		expect(readGroupBy('notes')).toBe('stage');
		expect(readGroupBy(null)).toBe('stage');
	});
	describe("a workspace's own select field as a pipeline", () => {
		const option = (key: string, retired = false): FieldOption => ({ key, label: { en: key, zh: key }, colour: 'grey', retired });
		const custom = (key: string, type: FieldDefinition['type'], options: FieldOption[], retired = false): FieldDefinition => ({
			key,
			label: { en: key, zh: key },
			type,
			options,
			retired,
			order: 100,
			builtin: false
		});
		const renewal = custom('x_renewal', 'select', [option('notice'), option('talks'), option('old', true), option('renewed')]);
		const definitions = [
			...BUILTIN_DEFINITIONS,
			renewal,
			custom('x_region', 'text', []),
			custom('x_tags2', 'multiselect', [option('a')]),
			custom('x_gone', 'select', [option('a')], true),
			custom('x_empty', 'select', [option('a', true)])
		];
		const pipeline = [
			row({ name: 'P1', custom: { x_renewal: 'talks' }, value: 100, currency: 'CNY' }),
			row({ name: 'P2', custom: { x_renewal: 'talks' }, value: 50, currency: 'CNY' }),
			row({ name: 'P3', custom: { x_renewal: 'renewed' } }),
			row({ name: 'P4', custom: { x_renewal: 'old' } }),
			row({ name: 'P5' })
		];

		it('offers the built-ins, then each select field that is not retired and has an option left', () => {
			expect(groupableFields(definitions)).toEqual(['stage', 'owner', 'currency', 'x_renewal']);
			expect(readGroupBy('x_renewal', definitions)).toBe('x_renewal');
			for (const other of ['x_region', 'x_tags2', 'x_gone', 'x_empty', 'x_nowhere']) expect(readGroupBy(other, definitions)).toBe('stage');
			// Without the definitions no custom field is known.
			expect(readGroupBy('x_renewal')).toBe('stage');
		});

		it("makes its columns the field's options in order, a retired option only when a card holds it, and \"not set\" last", () => {
			expect(columnValues('x_renewal', pipeline, [], definitions)).toEqual(['notice', 'talks', 'renewed', 'old', null]);
			const board = buildBoard(pipeline, 'x_renewal', [], definitions);
			expect(board.map((column) => [column.value, column.cards.map((card) => card.name)])).toEqual([
				['notice', []],
				['talks', ['P1', 'P2']],
				['renewed', ['P3']],
				['old', ['P4']],
				[null, ['P5']]
			]);
			expect(board[1].totals).toEqual([{ currency: 'CNY', amount: 150 }]);
		});
	});
});

describe('totals per currency', () => {
	it('sums in hundredths, orders by the schema currencies, keeps a value without currency apart', () => {
		const totals = totalsByCurrency([
			row({ value: 0.1, currency: 'USD' }),
			row({ value: 0.2, currency: 'USD' }),
			row({ value: 5, currency: null }),
			row({ value: 1200, currency: 'JPY' }),
			row({ value: 7, currency: 'CNY' }),
			row({ value: null, currency: 'GBP' }),
			row({ value: 3, currency: 'XAU' })
		]);
		expect(totals).toEqual([
			{ currency: 'CNY', amount: 7 },
			{ currency: 'USD', amount: 0.3 },
			{ currency: 'JPY', amount: 1200 },
			{ currency: 'XAU', amount: 3 },
			{ currency: null, amount: 5 }
		]);
	});
});

describe('keyboard moves', () => {
	const columns = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost', null];

	it('moves to the previous or next column, and not past either end', () => {
		expect(moveTarget(columns, 'lead', 1)).toBe('qualified');
		expect(moveTarget(columns, 'qualified', -1)).toBe('lead');
		expect(moveTarget(columns, 'lost', 1)).toBeNull();
		expect(moveTarget(columns, null, -1)).toBe('lost');
		expect(moveTarget(columns, 'lead', -1)).toBeUndefined();
		expect(moveTarget(columns, null, 1)).toBeUndefined();
		expect(moveTarget(columns, 'nowhere', 1)).toBeUndefined();
	});

	it('knows [ ] and Alt+←/→, and nothing with Ctrl, Meta or Shift+arrows', () => {
		expect(moveDirectionOfKey(keys('['))).toBe(-1);
		expect(moveDirectionOfKey(keys(']'))).toBe(1);
		expect(moveDirectionOfKey(keys('ArrowLeft', { altKey: true }))).toBe(-1);
		expect(moveDirectionOfKey(keys('ArrowRight', { altKey: true }))).toBe(1);
		expect(moveDirectionOfKey(keys('ArrowRight'))).toBeNull();
		expect(moveDirectionOfKey(keys(']', { ctrlKey: true }))).toBeNull();
		expect(moveDirectionOfKey(keys('ArrowLeft', { altKey: true, shiftKey: true }))).toBeNull();
		expect(moveDirectionOfKey(keys('ArrowLeft', { altKey: true, metaKey: true }))).toBeNull();
	});
});
