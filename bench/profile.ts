/**
 * Summarises V8 CPU profiles (`.cpuprofile`, as written by `node --cpu-prof`, which
 * `npm run bench -- --profile` turns on for Accord's servers): self time by package or
 * source area, and the hottest functions.
 *
 *   node --import tsx bench/profile.ts <file>.cpuprofile [top]                 self time by area and function
 *   node --import tsx bench/profile.ts <file>.cpuprofile --inclusive server/   time in functions (callees included) whose file matches
 *   node --import tsx bench/profile.ts <file>.cpuprofile --callers writev      who calls a function (e.g. which writes are whose)
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

function load(file: string) {
	const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map<number, number>();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const self = new Map<number, number>();
	for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
	const label = (id: number) => {
		const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
		const short = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(server|src|bench)\//, '$1/');
		return { name: functionName || '(anonymous)', url: short, where: short ? `${short}:${lineNumber + 1}` : '' };
	};
	return { byId, parent, self, label };
}

/** Time in each function including what it called, for functions whose file matches `filter`. */
export function inclusive(file: string, filter: string): { fn: string; ms: number; share: number }[] {
	const { byId, parent, self, label } = load(file);
	const totals = new Map<string, number>();
	let busy = 0;
	for (const [id, us] of self) {
		if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
		busy += us;
		const seen = new Set<string>();
		for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
			const { name, url } = label(at);
			const key = `${name} ${url}`;
			if (seen.has(key) || !url.includes(filter)) continue;
			seen.add(key);
			totals.set(key, (totals.get(key) ?? 0) + us);
		}
	}
	return [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([fn, us]) => ({ fn, ms: us / 1000, share: us / busy }));
}

/** Self time of `fn` by the chain of (non-Node) callers above it. */
export function callers(file: string, fn: string, depth = 4): { chain: string; ms: number }[] {
	const { byId, parent, self, label } = load(file);
	const chains = new Map<string, number>();
	for (const [id, us] of self) {
		if (byId.get(id)!.callFrame.functionName !== fn) continue;
		const chain: string[] = [];
		for (let at = parent.get(id); at !== undefined && chain.length < depth; at = parent.get(at)) {
			const { name, url, where } = label(at);
			if (!url.startsWith('node:')) chain.push(`${name} ${where}`);
		}
		const key = chain.join(' ← ');
		chains.set(key, (chains.get(key) ?? 0) + us);
	}
	return [...chains.entries()].sort((a, b) => b[1] - a[1]).map(([chain, us]) => ({ chain, ms: us / 1000 }));
}

if (process.argv[1]?.endsWith('profile.ts')) {
	// Piped into `head`: stop quietly when the reader has had enough.
	process.stdout.on('error', () => process.exit(0));
	const [file, ...rest] = process.argv.slice(2);
	if (!file) {
		console.error('usage: node --import tsx bench/profile.ts <file.cpuprofile> [top | --inclusive <path part> | --callers <function>]');
		process.exit(2);
	}
	if (rest[0] === '--inclusive') {
		for (const f of inclusive(file, rest[1] ?? '').slice(0, 30)) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.fn}`);
		process.exit(0);
	}
	if (rest[0] === '--callers') {
		for (const c of callers(file, rest[1] ?? 'writev').slice(0, 12)) console.log(`  ${c.ms.toFixed(0).padStart(7)} ms  ${c.chain}`);
		process.exit(0);
	}
	const top = rest[0];
	const summary = summarise(file, Number(top ?? 25));
	console.log(`${file}: ${summary.busyMs.toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms sampled\n`);
	console.log('by area (self time, share of busy):');
	for (const a of summary.byArea.slice(0, 20)) console.log(`  ${(a.share * 100).toFixed(1).padStart(5)}%  ${a.ms.toFixed(0).padStart(7)} ms  ${a.area}`);
	console.log('\nhottest functions:');
	for (const f of summary.byFunction) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.fn}  [${f.area}]`);
}
