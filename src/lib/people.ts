/**
 * People as the UI shows them: a name, and a colour derived from their id so that
 * every tab shows the same person in the same colour.
 */
export interface Person {
	id: string;
	name: string;
	email: string;
}

const PALETTE = ['#d9480f', '#2b8a3e', '#1971c2', '#9c36b5', '#c2255c', '#0b7285', '#e67700', '#5f3dc4', '#364fc7', '#087f5b'];

export function colourOf(id: string): { color: string; colorLight: string } {
	let hash = 0;
	for (const ch of id) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
	const color = PALETTE[hash % PALETTE.length];
	return { color, colorLight: `${color}33` };
}

export function initialsOf(name: string): string {
	const trimmed = name.trim();
	if (/^[\u3400-\u9fff]/u.test(trimmed)) return trimmed.slice(-2);
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
