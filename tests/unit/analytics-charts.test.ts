/**
 * What the dashboard's charts hand out besides pictures: colours readable on white
 * (WCAG contrast ≥ 4.5:1, so a bar or a legend swatch is as distinct as text must be),
 * and CSV exports that spreadsheets open as written (quoting, UTF-8 mark, no formulas).
 */
import { describe, expect, it } from 'vitest';
import { PALETTE, toCsv } from '../../src/lib/components/charts/export.ts';

function luminance(hex: string): number {
	const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
	return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
const contrast = (a: string, b: string) => {
	const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
	return (hi + 0.05) / (lo + 0.05);
};

describe('chart colours', () => {
	it('each has at least 4.5:1 contrast on white, and the two of a pair differ', () => {
		for (const colour of PALETTE) expect(contrast(colour, '#ffffff'), colour).toBeGreaterThanOrEqual(4.5);
		expect(new Set(PALETTE).size).toBe(PALETTE.length);
		// won (green) and lost (red) side by side are told apart by more than hue alone: their lightness differs too.
		expect(Math.abs(luminance(PALETTE[2]) - luminance(PALETTE[1]))).toBeGreaterThan(0.02);
	});
});

describe('CSV export', () => {
	it('quotes what needs quoting, marks UTF-8 and keeps formulas as text', () => {
		const csv = toCsv([
			['name', 'value'],
			['长城贸易, 上海', 12.5],
			['say "hi"', null],
			['=HYPERLINK("x")', -3]
		]);
		expect(csv).toBe('\uFEFFname,value\r\n"长城贸易, 上海",12.5\r\n"say ""hi""",\r\n"\'=HYPERLINK(""x"")",-3\r\n');
	});
});
