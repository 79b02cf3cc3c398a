/**
 * Summarises V8 CPU profiles (`.cpuprofile`, as written by `node --cpu-prof`, which
 * `npm run bench -- --profile` turns on for Accord's servers): self time by package or
 * source area, and the hottest functions.
 *
 *   node --import tsx bench/profile.ts bench/results/profiles/<file>.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
}

interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
	startTime: number;
	endTime: number;
}

export interface ProfileSummary {
	totalMs: number;
	busyMs: number;
	byArea: { area: string; ms: number; share: number }[];
	byFunction: { fn: string; area: string; ms: number; share: number }[];
}

/** Where a frame's code lives: a package, Accord's own code, Node internals, or V8. */
export function areaOf(url: string, functionName: string): string {
	if (!url) {
		if (functionName === '(garbage collector)') return 'V8: garbage collection';
		if (functionName === '(idle)') return 'idle';
		if (functionName === '(program)') return 'V8/native (program)';
		return `native: ${functionName || '(anonymous)'}`;
	}
	if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
	if (url.startsWith('wasm://')) return 'WASM';
	const modules = url.lastIndexOf('/node_modules/');
	if (modules >= 0) {
		const rest = url.slice(modules + '/node_modules/'.length).split('/');
		return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
	}
	const match = /\/(server|src|build|bench)\/(.*)$/.exec(url);
	if (match) return `accord: ${match[1]}/${match[2].split('/').slice(0, match[1] === 'server' ? 1 : 2).join('/')}`;
	return url;
}

export function summarise(file: string, top = 25): ProfileSummary {
	const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const self = new Map<number, number>();
	for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
	const areas = new Map<string, number>();
	const functions = new Map<string, { area: string; us: number }>();
	let total = 0;
	let idle = 0;
	for (const [id, us] of self) {
		const node = byId.get(id)!;
		const { functionName, url, lineNumber } = node.callFrame;
		const area = areaOf(url, functionName);
		total += us;
		if (area === 'idle') {
			idle += us;
			continue;
		}
		areas.set(area, (areas.get(area) ?? 0) + us);
		const shortUrl = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(server|src|bench)\//, '$1/');
		const key = `${functionName || '(anonymous)'} ${shortUrl ? `${shortUrl}:${lineNumber + 1}` : ''}`.trim();
		const entry = functions.get(key) ?? { area, us: 0 };
		entry.us += us;
		functions.set(key, entry);
	}
	const busy = total - idle;
	return {
		totalMs: total / 1000,
		busyMs: busy / 1000,
		byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, ms: us / 1000, share: us / busy })),
		byFunction: [...functions.entries()]
			.sort((a, b) => b[1].us - a[1].us)
			.slice(0, top)
			.map(([fn, { area, us }]) => ({ fn, area, ms: us / 1000, share: us / busy }))
	};
}

if (process.argv[1]?.endsWith('profile.ts')) {
	const [file, top] = process.argv.slice(2);
	if (!file) {
		console.error('usage: node --import tsx bench/profile.ts <file.cpuprofile> [top]');
		process.exit(2);
	}
	const summary = summarise(file, Number(top ?? 25));
	console.log(`${file}: ${summary.busyMs.toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms sampled\n`);
	console.log('by area (self time, share of busy):');
	for (const a of summary.byArea.slice(0, 20)) console.log(`  ${(a.share * 100).toFixed(1).padStart(5)}%  ${a.ms.toFixed(0).padStart(7)} ms  ${a.area}`);
	console.log('\nhottest functions:');
	for (const f of summary.byFunction) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.fn}  [${f.area}]`);
}
