// The server and the command line as plain JavaScript, bundled by esbuild into a folder
// inside the app's build (build/accord-server/ for `npm start`; the tests make one of their own
// per vitest process, tests/support/global-setup.ts). Run from TypeScript through tsx,
// each start of a server or a command spent 1-3 s of CPU in tsx's loader thread,
// resolving and transforming a few hundred modules one message at a time: measured
// 10.7/5.7/6.4 s from spawn to "running" against 4.0/2.7/3.4 s for the bundle (load
// about 2), and the tests start servers and commands about a hundred and twenty times.
//
// Packages stay outside the bundle (node_modules is read as it is); only the project's
// own TypeScript is joined. The embedded database's thread (server/store/pglite-thread.js)
// is copied beside the bundle, where `new URL('./pglite-thread.js', import.meta.url)`
// looks for it, and ACCORD_BUNDLED tells server/http.ts that the app's build is the
// bundle's parent folder.
//
//   node scripts/build-server.js [OUT_DIR]      default build/accord-server
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Bundles server/main.ts and server/cli.ts into `outDir` (a folder directly inside build/).
 * @param {string} outDir
 */
export async function buildServer(outDir = path.join(REPO_ROOT, 'build', 'accord-server')) {
	if (path.dirname(path.resolve(outDir)) !== path.join(REPO_ROOT, 'build')) throw new Error(`the server's bundle must go directly inside build/ (it finds the app there): ${outDir}`);
	rmSync(outDir, { recursive: true, force: true });
	mkdirSync(outDir, { recursive: true });
	await build({
		absWorkingDir: REPO_ROOT,
		entryPoints: { main: 'server/main.ts', cli: 'server/cli.ts' },
		outdir: outDir,
		bundle: true,
		// The command line loads each command's code when it is run: shared code in chunks, not copied into each.
		splitting: true,
		format: 'esm',
		platform: 'node',
		target: 'node20',
		packages: 'external',
		sourcemap: 'linked',
		define: { ACCORD_BUNDLED: 'true' },
		logLevel: 'warning'
	});
	copyFileSync(path.join(REPO_ROOT, 'server', 'store', 'pglite-thread.js'), path.join(outDir, 'pglite-thread.js'));
	return { main: path.join(outDir, 'main.js'), cli: path.join(outDir, 'cli.js') };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	await buildServer(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
}
