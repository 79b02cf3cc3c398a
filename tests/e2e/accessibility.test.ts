/**
 * WCAG 2.1 AA on every page, checked by axe-core in a real browser: each page Accord
 * serves, signed out and signed in, in English and Chinese, on a desktop and on a
 * 390 × 844 phone. Any violation fails the test, named with the page, the rule and the
 * elements it found, so the fix is one look away.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser } from '../support/browser.ts';
import { signInAs } from '../support/sign-in.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

interface Violation {
	id: string;
	impact: string | null;
	help: string;
	nodes: Array<{ target: string[]; failureSummary?: string }>;
}

async function violations(page: Page): Promise<Violation[]> {
	// Evaluated, not added as a script tag: the page's CSP (rightly) refuses inline scripts.
	await page.evaluate(AXE_SOURCE);
	return page.evaluate(async (tags) => {
		const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Violation[] }> } }).axe;
		const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
		return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
	}, TAGS);
}

function describeViolations(where: string, found: Violation[]): string {
	return found
		.map((v) => `${where}: ${v.id} (${v.impact}) ${v.help}\n${v.nodes
			.slice(0, 5)
			.map((n) => `    ${n.target.join(' ')} — ${(n.failureSummary ?? '').split('\n').slice(1, 2).join('').trim()}`)
			.join('\n')}`)
		.join('\n');
}

const VIEWPORTS = [
	{ name: 'desktop', width: 1280, height: 860 },
	{ name: 'phone', width: 390, height: 844 }
];
const LOCALES = ['en-US', 'zh-CN'];

describe('accessibility (WCAG 2.1 AA, axe-core)', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let recordId: string;

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir, seedDemo: true, demoRecordCount: 12 });
		recordId = await createRecord(server, { name: '李娜', company: 'Harbour Logistics', stage: 'proposal', value: 120000, currency: 'CNY', country: 'CN' }, { tags: ['vip'], notes: '第一次拜访。' });
		browser = await launchBrowser();
	});
	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	for (const locale of LOCALES) {
		for (const viewport of VIEWPORTS) {
			it(`has no violations on any page (${locale}, ${viewport.name})`, async () => {
				const context: BrowserContext = await browser.newContext({ locale, viewport: { width: viewport.width, height: viewport.height } });
				const page = await context.newPage();
				const problems: string[] = [];
				const check = async (path: string, ready: string) => {
					await page.goto(`${server.url}${path}`);
					await page.waitForSelector(ready, { timeout: 30_000 });
					// Transitions and live data settle first: axe reads colours as they are drawn.
					await page.waitForTimeout(400);
					const found = await violations(page);
					if (found.length > 0) problems.push(describeViolations(`${path} (${locale}, ${viewport.name})`, found));
				};
				try {
					await check('/auth/sign-in', '[data-testid="sign-in-button"]');
					await signInAs(page, server, 'alice');
					await check('/records', '[data-testid="signed-in-person"]');
					await check(`/records/${recordId}`, '[data-testid="record-page"][data-live="true"]');
					await check('/board', '[data-testid="board-column"]');
					await check('/board?by=owner', '[data-testid="board-column"]');
					await check('/settings', '[data-testid="signed-in-person"]');
					await check('/settings/audit', '[data-testid="signed-in-person"]');
					await check('/no-such-page', 'main');
				} finally {
					await context.close();
				}
				expect(problems.join('\n\n')).toBe('');
			});
		}
	}
});
