/**
 * People as the UI shows them: a name, and a colour derived from their id so that
 * every tab shows the same person in the same colour.
 */
export interface Person {
	id: string;
	name: string;
	email: string;
}

/**
 * Distinct, and kind to colour-blind eyes in pairs. White initials on each reach 4.5:1 or
 * more (WCAG AA for small text; checked by axe-core in tests/e2e/accessibility.test.ts):
 * five lighter shades that did not (3.5–4.4:1) were darkened.
 */
const PALETTE = [
	'#c92a2a', '#2b7a3b', '#1864ab', '#862e9c', '#a61e4d', '#0b7285', '#b35900', '#5f3dc4',
	'#364fc7', '#087f5b', '#4263eb', '#c2410c', '#6741d9', '#2f7d3a', '#1971c2', '#c2255c'
];

/** FNV-1a: a small, well-spread hash, so similar ids land on different colours. */
function hash(text: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h;
}

export function colourOf(id: string): { color: string; colorLight: string } {
	const color = PALETTE[hash(id) % PALETTE.length];
	return { color, colorLight: `${color}33` };
}

export function initialsOf(name: string, compact = false): string {
	const trimmed = name.trim();
	// A Han name shows its last two characters (王芳, 欧阳明 → 阳明), as Chinese team tools
	// do; in a small avatar only the last (芳): two Han characters squeezed into 26 px were
	// barely legible, and the given name tells colleagues apart where the surname (王, 李) seldom does.
	if (/^[\u3400-\u9fff]/u.test(trimmed)) return [...trimmed].slice(compact ? -1 : -2).join('');
	return trimmed
		.split(/\s+/)
		.slice(0, 2)
		.map((part) => part[0]?.toUpperCase() ?? '')
		.join('');
}

/** The demo team, until sign-in (SSO) provides real identities. */
export const DEMO_PEOPLE: readonly Person[] = [
	{ id: 'alice', name: 'Alice Chen', email: 'alice@accord.example' },
	{ id: 'bob', name: 'Bob Martin', email: 'bob@accord.example' },
	{ id: 'carol', name: 'Carol Singh', email: 'carol@accord.example' },
	{ id: 'wang.fang', name: '王芳', email: 'wang.fang@accord.example' },
	{ id: 'li.wei', name: '李伟', email: 'li.wei@accord.example' }
];
