/**
 * The import arrows the architecture promises, checked on every `npm test` (issue 15):
 *
 *   - nothing under `src/` imports `server/` (the browser's code and the shared code stand alone);
 *   - nothing in `server/store/` imports `server/audit/` (the store offers "also in this
 *     transaction"; the audit uses it, never the other way round);
 *   - no import cycles between the folders of `server/` (the folder-level graph: one
 *     node per first-level folder such as `server/sync`; the files at `server/`'s root are
 *     the composition around them and are not nodes);
 *   - no import cycles among the files at `server/`'s root (`app.ts`, `records.ts`,
 *     `fields.ts`, …): the composition root and the services it assembles import one
 *     another one way only, so each can be read, and loaded, after what it uses.
 *
 * The imports are read with TypeScript's own pre-parser (`ts.preProcessFile`: static,
 * type-only, `export … from`, dynamic `import()`), already a dependency, so no import
 * graph library is needed: madge or dependency-cruiser would add a package and its
 * configuration for what is forty lines here. Type-only imports count: a type is an
 * arrow too. A Svelte file's imports are those of its `<script>` blocks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One import: the importing file, the specifier as written, and the file it names (repository-relative). */
interface Arrow {
	from: string;
	specifier: string;
	to: string;
}

const SVELTE_SCRIPT = /<script\b[^>]*>([\s\S]*?)<\/script>/g;

function importsOf(path: string, text: string): string[] {
	const code = path.endsWith('.svelte') ? [...text.matchAll(SVELTE_SCRIPT)].map((m) => m[1]).join('\n') : text;
	return ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName);
}

/** Where a specifier leads inside the repository; null for a package (`yjs`, `$app/…`, `node:fs`). */
function target(from: string, specifier: string): string | null {
	if (specifier.startsWith('$lib/') || specifier === '$lib') return join('src/lib', specifier.slice('$lib'.length));
	if (!specifier.startsWith('.')) return null;
	return relative(ROOT, resolve(ROOT, dirname(from), specifier));
}

/** Every arrow of these files (paths relative to the repository, with their text). */
function arrowsOf(files: ReadonlyMap<string, string>): Arrow[] {
	const arrows: Arrow[] = [];
	for (const [from, text] of files) {
		for (const specifier of importsOf(from, text)) {
			const to = target(from, specifier);
			if (to !== null) arrows.push({ from, specifier, to });
		}
	}
	return arrows;
}

const under = (path: string, folder: string) => path === folder || path.startsWith(folder + '/');

/** The folder of `server/` a file belongs to (`server/sync`), or null for the root's own files and anything else. */
function serverFolder(path: string): string | null {
	const parts = path.split('/');
	return parts[0] === 'server' && parts.length > 2 ? `server/${parts[1]}` : null;
}

/** A file at `server/`'s root (`server/app.ts`), or null for anything else. */
function serverRootFile(path: string): string | null {
	const parts = path.split('/');
	return parts[0] === 'server' && parts.length === 2 ? path : null;
}

/**
 * The cycles of the graph whose nodes `nodeOf` names (null: no node): its strongly
 * connected parts of more than one node, each with the arrows inside it.
 */
function cycles(arrows: readonly Arrow[], nodeOf: (path: string) => string | null): { nodes: string[]; arrows: Arrow[] }[] {
	const edges = new Map<string, Set<string>>();
	for (const a of arrows) {
		const from = nodeOf(a.from);
		const to = nodeOf(a.to);
		if (from && to && from !== to) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
	}
	// Tarjan's algorithm: a handful of nodes, so recursion is fine.
	let next = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const parts: string[][] = [];
	const visit = (v: string) => {
		index.set(v, next);
		low.set(v, next++);
		stack.push(v);
		onStack.add(v);
		for (const w of edges.get(v) ?? []) {
			if (!index.has(w)) {
				visit(w);
				low.set(v, Math.min(low.get(v)!, low.get(w)!));
			} else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
		}
		if (low.get(v) === index.get(v)) {
			const part: string[] = [];
			let w: string;
			do {
				w = stack.pop()!;
				onStack.delete(w);
				part.push(w);
			} while (w !== v);
			if (part.length > 1) parts.push(part.sort());
		}
	};
	for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
	return parts.map((nodes) => ({
		nodes,
		arrows: arrows.filter((a) => {
			const from = nodeOf(a.from);
			const to = nodeOf(a.to);
			return from !== to && from !== null && to !== null && nodes.includes(from) && nodes.includes(to);
		})
	}));
}

/** Every broken rule, one line each, naming the file and the import that breaks it. */
function violations(files: ReadonlyMap<string, string>): string[] {
	const arrows = arrowsOf(files);
	const show = (a: Arrow) => `${a.from} imports ${a.to} ('${a.specifier}')`;
	const found: string[] = [];
	for (const a of arrows) {
		if (under(a.from, 'src') && under(a.to, 'server')) found.push(`src must not import server: ${show(a)}`);
		if (under(a.from, 'server/store') && under(a.to, 'server/audit')) found.push(`server/store must not import server/audit: ${show(a)}`);
	}
	for (const cycle of cycles(arrows, serverFolder)) {
		found.push(`import cycle between ${cycle.nodes.join(', ')}:\n${cycle.arrows.map((a) => `    ${show(a)}`).join('\n')}`);
	}
	for (const cycle of cycles(arrows, serverRootFile)) {
		found.push(`import cycle among server's root files ${cycle.nodes.join(', ')}:\n${cycle.arrows.map((a) => `    ${show(a)}`).join('\n')}`);
	}
	return found;
}

function sourceFiles(folder: string): Map<string, string> {
	const files = new Map<string, string>();
	const walk = (dir: string) => {
		for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) walk(path);
			else if (/\.(ts|js|svelte)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.set(path, readFileSync(join(ROOT, path), 'utf8'));
		}
	};
	walk(folder);
	return files;
}

describe('the import arrows of src/ and server/', () => {
	it("keep the rules: src never imports server, the store never imports the audit, no cycles between server folders or among server's root files", () => {
		const files = new Map([...sourceFiles('src'), ...sourceFiles('server')]);
		expect(files.size).toBeGreaterThan(100);
		expect(violations(files).join('\n')).toBe('');
	});

	it('reads the arrows it checks: the sync code imports the shared protocol, a component imports through $lib', () => {
		const arrows = arrowsOf(new Map([...sourceFiles('src'), ...sourceFiles('server')]));
		expect(arrows).toContainEqual(expect.objectContaining({ from: 'server/sync/room.ts', to: 'src/lib/protocol/index.ts' }));
		expect(arrows).toContainEqual(expect.objectContaining({ from: 'server/app.ts', to: 'server/records.ts' }));
		expect(arrows.some((a) => a.from.endsWith('.svelte') && a.specifier.startsWith('$lib/') && a.to.startsWith('src/lib/'))).toBe(true);
	});

	it('names each kind of wrong arrow', () => {
		const files = new Map([
			['src/lib/a.ts', "import { x } from '../../server/x.ts';"],
			['src/lib/b.svelte', "<script lang=\"ts\">\n\timport type { Y } from '$lib/../../server/y.ts';\n</script>"],
			['server/store/s.ts', "export const s = 1;\nconst audit = await import('../audit/a.ts');"],
			['server/audit/a.ts', "import type { S } from '../store/s.ts';"],
			['server/x.ts', "import '../src/lib/a.ts'; import './sync/r.ts';"],
			['server/sync/r.ts', "import '../x.ts';"],
			['server/p.ts', "import type { Q } from './q.ts';"],
			['server/q.ts', "import { p } from './p.ts';"]
		]);
		expect(violations(files)).toEqual([
			"src must not import server: src/lib/a.ts imports server/x.ts ('../../server/x.ts')",
			"src must not import server: src/lib/b.svelte imports server/y.ts ('$lib/../../server/y.ts')",
			"server/store must not import server/audit: server/store/s.ts imports server/audit/a.ts ('../audit/a.ts')",
			"import cycle between server/audit, server/store:\n    server/store/s.ts imports server/audit/a.ts ('../audit/a.ts')\n    server/audit/a.ts imports server/store/s.ts ('../store/s.ts')",
			"import cycle among server's root files server/p.ts, server/q.ts:\n    server/p.ts imports server/q.ts ('./q.ts')\n    server/q.ts imports server/p.ts ('./p.ts')"
		]);
	});
});
