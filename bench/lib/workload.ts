/**
 * The CRM editing workload, the same for every server and both CRDTs: people change
 * fields of a record (a stage, a value, a phone number, a follow-up date…) and type
 * into its notes, one keystroke at a time.
 */
import { CURRENCIES, STAGES } from '../../src/lib/model/schema.ts';

/** mulberry32: small and deterministic, so every run and every server sees the same edits. */
export function rng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** The 15 fields a record carries in the benchmark (the schema's scalar fields). */
export const BENCH_FIELDS = [
	'name', 'company', 'title', 'email', 'phone', 'website', 'industry', 'stage',
	'owner', 'value', 'currency', 'country', 'city', 'address', 'followUpAt'
] as const;

/**
 * The people records are assigned to. An owner names a member of the workspace (Accord
 * refuses any other value on the live path), so Accord's bench server makes these ids
 * members before clients connect; the peers take any string.
 */
export const BENCH_OWNERS = ['bench-owner-1', 'bench-owner-2', 'bench-owner-3', 'bench-owner-4'] as const;

const WORDS = ['Acme', 'Meridian', 'Huaxin', 'Northwind', 'Blue Harbor', '华信科技', '明远', 'Quantum', 'Summit', 'Lotus'];
const TYPED = 'Called back about the pilot; they want pricing for 40 seats and a security review. 下周再跟进。 ';

export type FieldValue = string | number;

/** A plausible new value for a field. */
export function fieldValue(field: string, random: () => number, n: number): FieldValue {
	const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
	switch (field) {
		case 'stage':
			return pick(STAGES);
		case 'currency':
			return pick(CURRENCIES);
		case 'value':
			return Math.round(random() * 500) * 1000;
		case 'phone':
			return `+86138${String(10_000_000 + Math.floor(random() * 89_999_999))}`;
		case 'email':
			return `contact${n}@example.com`;
		case 'website':
			// A valid address: the server refuses invalid values on the live path.
			return `https://www.example${n}.com`;
		case 'followUpAt':
			return `2026-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
		case 'country':
			return pick(['CN', 'US', 'GB', 'SG', 'AU', 'IE']);
		case 'owner':
			return pick(BENCH_OWNERS);
		default:
			return `${pick(WORDS)} ${field} ${n}`;
	}
}

/** The next character someone typing notes would type. */
export function typedChar(n: number): string {
	return TYPED[n % TYPED.length];
}

export interface Edit {
	kind: 'field' | 'notes';
	field: string;
	value: FieldValue;
	/** For notes: the character typed. */
	char: string;
}

/** One person's stream of edits: mostly fields, and typing in the notes (`notesShare`). */
export function editStream(seed: number, notesShare = 0.4): () => Edit {
	const random = rng(seed);
	let n = 0;
	let field: string = BENCH_FIELDS[0];
	return () => {
		n++;
		// People stay on a field for a while before moving to the next.
		if (n % 5 === 1) field = BENCH_FIELDS[Math.floor(random() * BENCH_FIELDS.length)];
		if (random() < notesShare) return { kind: 'notes', field: 'notes', value: '', char: typedChar(n) };
		return { kind: 'field', field, value: fieldValue(field, random, n), char: '' };
	};
}
