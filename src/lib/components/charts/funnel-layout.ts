/**
 * Where the stage funnel puts each step's words (count · conversion · median days), so they
 * are always read against the colour they were chosen for: white inside the bar when they
 * fit there, dark on the white ground to the right of the bar when they do not, and dark on
 * a line of their own under the bar when the right side is too short as well (narrow phones,
 * long English words). Plain arithmetic, so it is tested without a browser
 * (tests/unit/analytics-charts.test.ts); the component measures the text.
 */

export type LabelPlace = 'inside' | 'right' | 'below';

export interface FunnelRow {
	/** The bar's left edge and width, in the drawing's units (pixels at its drawn size). */
	x: number;
	width: number;
	/** Top of the row; its height includes a line under the bar when the words go there. */
	y: number;
	height: number;
	place: LabelPlace;
	/** Where the words start (or their middle, inside the bar), and their baseline. */
	textX: number;
	textY: number;
}

export interface FunnelGeometry {
	/** The drawing's width and where the bars start (after the stage names). */
	width: number;
	left: number;
	/** Space between the words and the bar's edges. */
	padding: number;
	/** A bar's height, and the extra line under it when the words go below. */
	bar: number;
	line: number;
	gap: number;
}

/** Rows for bars of `widths` (already scaled to the drawing) whose words are `textWidths` wide. */
export function funnelRows(widths: readonly number[], textWidths: readonly number[], g: FunnelGeometry): FunnelRow[] {
	const rows: FunnelRow[] = [];
	let y = 0;
	widths.forEach((width, i) => {
		const text = textWidths[i] ?? 0;
		const place: LabelPlace =
			text + 2 * g.padding <= width ? 'inside' : g.left + width + g.padding + text <= g.width ? 'right' : 'below';
		const height = g.bar + (place === 'below' ? g.line : 0) + g.gap;
		const middle = y + g.gap / 2 + g.bar / 2;
		rows.push({
			x: g.left,
			width,
			y,
			height,
			place,
			textX: place === 'inside' ? g.left + width / 2 : place === 'right' ? g.left + width + g.padding : g.left,
			textY: place === 'below' ? y + g.gap / 2 + g.bar + g.line - 4 : middle + 4
		});
		y += height;
	});
	return rows;
}

/**
 * A text's width when no canvas can measure it (server rendering, tests): Han characters and
 * full-width forms an em each, anything else 0.62 em, a little more than most Latin glyphs.
 */
export function estimateTextWidth(text: string, fontSize: number): number {
	let ems = 0;
	for (const ch of text) ems += /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]/u.test(ch) ? 1 : 0.62;
	return ems * fontSize;
}
