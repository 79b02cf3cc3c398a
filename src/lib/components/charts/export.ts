/**
 * Export of a chart as a picture (PNG) or its numbers (CSV), in the browser: uPlot draws on
 * a canvas (axes included), SVG charts are serialised and painted onto one. CSV cells are
 * quoted as RFC 4180 asks, and a cell a spreadsheet would run as a formula is made text.
 */

export type CsvCell = string | number | null;

function csvCell(value: CsvCell): string {
	if (value === null) return '';
	let text = String(value);
	if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
	return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: readonly (readonly CsvCell[])[]): string {
	// A byte-order mark, so spreadsheet programs read Chinese names as UTF-8.
	return '\uFEFF' + rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export function download(filename: string, href: string): void {
	const link = document.createElement('a');
	link.href = href;
	link.download = filename;
	document.body.append(link);
	link.click();
	link.remove();
}

export function downloadCsv(filename: string, rows: readonly (readonly CsvCell[])[]): void {
	const url = URL.createObjectURL(new Blob([toCsv(rows)], { type: 'text/csv;charset=utf-8' }));
	download(filename, url);
	setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A PNG of a canvas on a white ground (a transparent PNG reads badly in most viewers). */
export function canvasPng(source: HTMLCanvasElement): string {
	const canvas = document.createElement('canvas');
	canvas.width = source.width;
	canvas.height = source.height;
	const ctx = canvas.getContext('2d')!;
	ctx.fillStyle = '#ffffff';
	ctx.fillRect(0, 0, canvas.width, canvas.height);
	ctx.drawImage(source, 0, 0);
	return canvas.toDataURL('image/png');
}

/** A PNG of an SVG element, drawn at twice its size for sharpness. */
export async function svgPng(svg: SVGSVGElement): Promise<string> {
	const box = svg.getBoundingClientRect();
	const clone = svg.cloneNode(true) as SVGSVGElement;
	// (No xmlns attribute set by hand: the serialiser writes the SVG namespace itself, and a second one makes the image invalid.)
	clone.setAttribute('width', String(box.width));
	clone.setAttribute('height', String(box.height));
	// Colours come from CSS; written onto the clone so the picture keeps them.
	const live = svg.querySelectorAll<SVGElement>('*');
	clone.querySelectorAll<SVGElement>('*').forEach((node, i) => {
		const style = getComputedStyle(live[i]);
		node.setAttribute('style', `fill:${style.fill};stroke:${style.stroke};font:${style.font};opacity:${style.opacity}`);
	});
	// A data: URL, not a blob: one: the app's Content-Security-Policy allows images from 'self' and data: only.
	const url = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(clone))}`;
	const image = new Image();
	await new Promise<void>((resolve, reject) => {
		image.onload = () => resolve();
		image.onerror = () => reject(new Error('the chart could not be drawn'));
		image.src = url;
	});
	const canvas = document.createElement('canvas');
	canvas.width = Math.max(1, Math.round(box.width * 2));
	canvas.height = Math.max(1, Math.round(box.height * 2));
	const ctx = canvas.getContext('2d')!;
	ctx.fillStyle = '#ffffff';
	ctx.fillRect(0, 0, canvas.width, canvas.height);
	ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
	return canvas.toDataURL('image/png');
}

/** Colours with at least 4.5:1 contrast on white (checked with the WCAG formula in tests/unit/analytics-charts.test.ts). */
export const PALETTE = ['#1d4ed8', '#b91c1c', '#047857', '#7e22ce', '#b45309', '#0e7490'] as const;
