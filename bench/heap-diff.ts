/**
 * `node --import tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 30]`:
 * what grew between two V8 heap snapshots of one process (the soak's, `--heap-snapshots`),
 * by kind of object (the node's type and constructor or string class), counted and sized
 * by self size. A leak shows as a kind whose count keeps rising while the load is the
 * same, or that is still there once every client has left.
 *
 * Reads the snapshot format V8 writes (`snapshot.meta.node_fields`, flat `nodes` array,
 * `strings` table) directly: no dependency, one pass over each file.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface HeapSnapshot {
	snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
	nodes: number[];
	strings: string[];
}

interface Kind {
	count: number;
	bytes: number;
}

/** Objects per kind: `type:name` (strings and code by their type alone, or every string would be its own kind). */
export function kindsOf(snapshot: HeapSnapshot): Map<string, Kind> {
	const fields = snapshot.snapshot.meta.node_fields;
	const width = fields.length;
	const typeAt = fields.indexOf('type');
	const nameAt = fields.indexOf('name');
	const sizeAt = fields.indexOf('self_size');
	const types = snapshot.snapshot.meta.node_types[0];
	const kinds = new Map<string, Kind>();
	for (let i = 0; i < snapshot.nodes.length; i += width) {
		const type = types[snapshot.nodes[i + typeAt]];
		const named = type === 'object' || type === 'closure' || type === 'native' || type === 'synthetic';
		const key = named ? `${type}:${snapshot.strings[snapshot.nodes[i + nameAt]].slice(0, 80)}` : type;
		const kind = kinds.get(key) ?? { count: 0, bytes: 0 };
		kind.count++;
		kind.bytes += snapshot.nodes[i + sizeAt];
		kinds.set(key, kind);
	}
	return kinds;
}

function main(): void {
	const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
	if (positionals.length !== 2) {
		console.error('usage: bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 30]');
		process.exit(2);
	}
	const [before, after] = positionals.map((file) => kindsOf(JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot));
	const total = (kinds: Map<string, Kind>) => [...kinds.values()].reduce((sum, k) => sum + k.bytes, 0);
	const rows = [...new Set([...before.keys(), ...after.keys()])].map((key) => {
		const a = before.get(key) ?? { count: 0, bytes: 0 };
		const b = after.get(key) ?? { count: 0, bytes: 0 };
		return { key, count: b.count - a.count, bytes: b.bytes - a.bytes, countAfter: b.count, bytesAfter: b.bytes };
	});
	rows.sort((x, y) => y.bytes - x.bytes);
	const mb = (n: number) => `${(n / 1048576).toFixed(2)} MB`;
	console.log(`heap: ${mb(total(before))} → ${mb(total(after))} (${mb(total(after) - total(before))})\n`);
	console.log('| kind | objects added | bytes added | objects after | bytes after |\n| --- | ---: | ---: | ---: | ---: |');
	for (const row of rows.slice(0, Number(values.top))) console.log(`| ${row.key} | ${row.count} | ${mb(row.bytes)} | ${row.countAfter} | ${mb(row.bytesAfter)} |`);
}

main();
