/**
 * What the dashboard's charts hand out besides pictures: colours readable on white
 * (WCAG contrast ≥ 4.5:1, so a bar or a legend swatch is as distinct as text must be),
 * CSV exports that spreadsheets open as written (quoting, UTF-8 mark, no formulas), and
 * the funnel's words placed where their colour reads: white inside a bar only when they fit.
 */
import { describe, expect, it } from 'vitest';
import { PALETTE, toCsv } from '../../src/lib/components/charts/export.ts';
import { estimateTextWidth, funnelRows } from '../../src/lib/components/charts/funnel-layout.ts';

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

describe('funnel words', () => {
	const geometry = { width: 400, left: 80, padding: 6, bar: 26, line: 18, gap: 8 };

	it('go inside a bar only when they fit there, else beside it, else under it', () => {
		const rows = funnelRows([300, 150, 60, 2, 300], [100, 150, 260, 40, 300], geometry);
		expect(rows.map((row) => row.place)).toEqual(['inside', 'right', 'below', 'right', 'below']);
		// Inside: centred on the bar, with room to either side.
		expect(rows[0].textX).toBe(80 + 150);
		// Beside: after the bar's end, and still within the drawing.
		expect(rows[1].textX).toBe(80 + 150 + 6);
		expect(rows[1].textX + 150).toBeLessThanOrEqual(geometry.width);
		expect(rows[3].textX).toBe(80 + 2 + 6);
		// Under: from the bar's start, below the bar; the row is a line taller and the next starts after it.
		expect(rows[2].textX).toBe(80);
		expect(rows[2].textY).toBeGreaterThan(rows[2].y + geometry.gap / 2 + geometry.bar);
		expect(rows[2].height).toBe(rows[1].height + geometry.line);
		expect(rows[3].y).toBe(rows[2].y + rows[2].height);
		// Exactly the bar's width less the padding on both sides still fits inside.
		expect(funnelRows([112], [100], geometry)[0].place).toBe('inside');
		expect(funnelRows([111.9], [100], geometry)[0].place).toBe('right');
	});

	it('white inside a bar reads (4.5:1 on the bar colour), and estimated widths count Han characters as an em', () => {
		expect(contrast('#ffffff', PALETTE[0])).toBeGreaterThanOrEqual(4.5);
		expect(contrast('#1b2430', '#ffffff')).toBeGreaterThanOrEqual(4.5);
		expect(estimateTextWidth('暂无完整停留', 12)).toBe(72);
		expect(estimateTextWidth('24 · 100%', 10)).toBeCloseTo(9 * 6.2);
	});
});
