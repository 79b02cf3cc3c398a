/**
 * The cell rules of the workbook reader (server/import/xlsx.ts) that a wrong guess
 * would silently spoil: Excel's serial dates in both date systems (with Lotus's 29
 * February 1900), which number formats are dates (Chinese ones included, and not
 * `0.00` or text in quotes), column letters, and which of a sheet's first rows is the
 * header. The whole reader is tested through the API in
 * tests/integration/import-xlsx.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { columnOf, excelDate, isDateFormat, type XlsxRow } from '../../server/import/xlsx.ts';
import { guessHeaderRow } from '../../server/import/read.ts';

const row = (number: number, cells: Array<string | number>): XlsxRow => ({
	row: number,
	cells: new Map(cells.map((cell, i) => [i, { text: String(cell), numeric: typeof cell === 'number' }])),
	width: cells.length
});

describe('xlsx cells', () => {
	it('turns serial numbers into ISO dates in the 1900 and 1904 systems', () => {
		expect(excelDate(46096, false)).toBe('2026-03-15');
		expect(excelDate(46096.395833333336, false)).toBe('2026-03-15T09:30:00');
		// Before 1 March 1900, the 1900 system counts a day that never was.
		expect(excelDate(59, false)).toBe('1900-02-28');
		expect(excelDate(61, false)).toBe('1900-03-01');
		expect(excelDate(1, false)).toBe('1900-01-01');
		expect(excelDate(44634, true)).toBe('2026-03-15');
		expect(excelDate(-1, false)).toBeNull();
		expect(excelDate(Number.NaN, false)).toBeNull();
	});

	it('tells date formats from number and text formats', () => {
		for (const code of ['yyyy-mm-dd', 'yyyy"年"m"月"d"日"', 'm/d/yy h:mm', '[h]:mm:ss', '[$-804]yyyy年m月d日', 'dd/mm/yyyy;@', 'hh:mm AM/PM']) expect(isDateFormat(code), code).toBe(true);
		for (const code of ['General', '0.00', '#,##0', '"days"0', '0.00_);[Red](0.00)', '@', '[$¥-804]#,##0.00', '\\d0']) expect(isDateFormat(code), code).toBe(false);
	});

	it('reads column letters', () => {
		expect(columnOf('A1')).toBe(0);
		expect(columnOf('Z9')).toBe(25);
		expect(columnOf('AA10')).toBe(26);
		expect(columnOf('XFD1048576')).toBe(16383);
		expect(columnOf('12')).toBeNull();
		expect(columnOf('ZZZZ1')).toBeNull();
	});

	it('finds the header under a title and notes, and not in a row of numbers', () => {
		const title = row(1, ['客户名单 2026']);
		const header = row(3, ['姓名', '公司', '手机', '邮箱']);
		const data = row(4, ['王伟', '华信', 13800138000, 'w@h.cn']);
		expect(guessHeaderRow([title, header, data])).toBe(header);
		// A row of numbers as wide as the table is data, not names.
		const numbers = row(1, [1, 2, 3, 4]);
		expect(guessHeaderRow([numbers, header, data])).toBe(header);
		// One column: the first row.
		expect(guessHeaderRow([row(1, ['Name']), row(2, ['Li Na'])])?.row).toBe(1);
		expect(guessHeaderRow([])).toBeNull();
	});
});
