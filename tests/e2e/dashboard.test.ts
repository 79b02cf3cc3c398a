/**
 * The analytics dashboard in real browsers: bob's dashboard shows the server's numbers
 * (equal to what the API answers); alice moves a card on her board and bob's funnel and
 * pipeline chart change within seconds, with nobody reloading; offline, bob's reopened
 * dashboard draws every chart from his device's copy. Exports give a PNG and a CSV. A
 * segment (the records list's query language, `?q=` as a saved view links it) narrows
 * every chart to the matching records, online and offline.
 * Screenshots in English and Chinese, desktop and phone width (no sideways scrolling).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import type { Dashboard } from '../../src/lib/analytics/aggregate.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

const BAR_CHARTS = ['bars-pipeline-stage', 'bars-pipeline-owner', 'bars-won-lost', 'bars-new-customers', 'bars-forecast', 'bars-scores'];

async function openDashboard(page: Page, server: RunningServer): Promise<void> {
	await page.goto(`${server.url}/dashboard`);
	await page.waitForSelector('[data-testid="dashboard"]', { timeout: 30_000 });
}

const reached = (page: Page, index: number) =>
	page
		.locator('[data-testid="funnel-svg"] rect')
		.nth(index)
		.getAttribute('data-reached', { timeout: 2_000 })
		.then(Number)
		.catch(() => -1);

/** The value bars of one chart, as drawn (the series' values, by category). */
async function barValues(page: Page, chart: string): Promise<{ categories: string[]; values: (number | null)[][] }> {
	const box = page.getByTestId(chart);
	return {
		categories: JSON.parse((await box.getAttribute('data-categories')) ?? '[]') as string[],
		values: JSON.parse((await box.getAttribute('data-values')) ?? '[]') as (number | null)[][]
	};
}

/**
 * What a person sees without pointing at anything: the segment box's example is not cut
 * off; every funnel step's words are white only inside their bar and dark beside or under
 * it, within the drawing; every bar chart's legend shows totals, not dashes.
 */
async function readable(page: Page, where: string): Promise<void> {
	await page.mouse.move(1, 1);
	const room = await page.getByTestId('dashboard-segment').evaluate((input: HTMLInputElement) => {
		const style = getComputedStyle(input);
		const context = document.createElement('canvas').getContext('2d')!;
		context.font = style.font;
		const inner = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
		return { inner, text: context.measureText(input.placeholder).width };
	});
	expect(room.text, `${where}: the segment's example`).toBeLessThanOrEqual(room.inner);
	const steps = await page.locator('[data-testid="funnel-svg"]').evaluate((svg: SVGSVGElement) =>
		[...svg.querySelectorAll('g[data-place]')].map((g) => {
			const bar = (g.querySelector('rect') as SVGRectElement).getBBox();
			const words = g.querySelector('text.value') as SVGTextElement;
			const box = words.getBBox();
			const name = (g.querySelector('text.stage') as SVGTextElement).getBBox();
			return { place: g.getAttribute('data-place'), bar: { x: bar.x, y: bar.y, right: bar.x + bar.width, bottom: bar.y + bar.height }, words: { x: box.x, y: box.y, right: box.x + box.width }, name: { x: name.x, right: name.x + name.width }, fill: getComputedStyle(words).fill, width: svg.viewBox.baseVal.width };
		})
	);
	expect(steps.length, where).toBe(5);
	for (const step of steps) {
		const label = `${where}: funnel words ${JSON.stringify(step)}`;
		expect(step.words.right, label).toBeLessThanOrEqual(step.width + 0.5);
		// The stage's name whole, left of its bar.
		expect(step.name.x, label).toBeGreaterThanOrEqual(0);
		expect(step.name.right, label).toBeLessThanOrEqual(step.bar.x);
		if (step.place === 'inside') {
			expect(step.fill, label).toBe('rgb(255, 255, 255)');
			expect(step.words.x, label).toBeGreaterThanOrEqual(step.bar.x);
			expect(step.words.right, label).toBeLessThanOrEqual(step.bar.right);
		} else {
			expect(step.fill, label).toBe('rgb(27, 36, 48)');
			// Clear of the bar: after its end, or under it.
			expect(step.words.x >= step.bar.right || step.words.y >= step.bar.bottom, label).toBe(true);
		}
	}
	for (const chart of BAR_CHARTS) {
		const values = await page.getByTestId(chart).locator('.u-legend .u-value').allInnerTexts();
		expect(values.length, `${where}: ${chart}`).toBeGreaterThan(1);
		expect(values.filter((v) => v.trim() === '–' || v.trim() === ''), `${where}: ${chart} legend ${JSON.stringify(values)}`).toEqual([]);
	}
}

describe('the analytics dashboard, live and offline', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let alice: Page;
	let bob: Page;
	let acme: string;

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir, seedDemo: true, demoRecordCount: 24 });
		acme = await createRecord(server, { name: 'Acme Pumps', stage: 'lead', owner: 'alice', value: 1_000_000, currency: 'CNY' });
		await createRecord(server, { name: '华东贸易', stage: 'proposal', owner: 'wang.fang', value: 200_000, currency: 'CNY' });
		browser = await launchBrowser();
		[alice, bob] = await Promise.all([pageAs(browser, server, 'alice'), pageAs(browser, server, 'bob')]);
		await openDashboard(bob, server);
		await alice.goto(`${server.url}/board`);
		await alice.waitForSelector(`[data-testid="board-card"][data-id="${acme}"]`, { timeout: 30_000 });
	}, 240_000);

	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	it('draws every chart from the server’s numbers', async () => {
		await expect.poll(() => bob.getByTestId('dashboard-source').getAttribute('data-source'), { timeout: 10_000 }).toBe('server');
		const api = (await (await apiFetch(`${server.url}/api/analytics?tz=UTC`)).json()) as { dashboard: Dashboard };
		await expect.poll(() => reached(bob, 0), { timeout: 10_000 }).toBe(api.dashboard.funnel[0].reached);
		for (const chart of BAR_CHARTS) {
			// uPlot drew it: a canvas, and a legend naming the series.
			expect(await bob.getByTestId(chart).locator('canvas').count(), chart).toBeGreaterThan(0);
			expect(await bob.getByTestId(chart).locator('.u-legend').count(), chart).toBe(1);
		}
		expect(await bob.locator('[data-testid="heatmap-svg"] rect[data-count]').count()).toBe(168);
		const stage = await barValues(bob, 'bars-pipeline-stage');
		expect(stage.categories).toContain('Lead');
		// The axis says its unit.
		expect(await bob.getByTestId('bars-pipeline-stage').innerText()).toMatch(/Value \((CNY|USD|EUR|GBP|JPY|HKD|SGD)\)/);

		// Hovering a bar: uPlot's cursor fills the tooltip with that stage's value.
		const canvas = bob.getByTestId('bars-pipeline-stage').locator('.u-over');
		const box = (await canvas.boundingBox())!;
		await bob.mouse.move(box.x + box.width / (2 * stage.categories.length), box.y + box.height / 2);
		await expect.poll(() => bob.getByTestId('bars-pipeline-stage').locator('.tooltip').innerText(), { timeout: 2_000 }).toContain(stage.categories[0]);

		// Exports: a CSV of the numbers and a PNG of the picture.
		const [csv] = await Promise.all([bob.waitForEvent('download'), bob.getByTestId('export-csv-funnel').click()]);
		expect(csv.suggestedFilename()).toBe('accord-funnel.csv');
		const text = await (await import('node:fs/promises')).readFile((await csv.path())!, 'utf8');
		expect(text).toContain('stage,reached,conversion,median days in stage');
		expect(text).toContain(`lead,${api.dashboard.funnel[0].reached},1,`);
		const [png] = await Promise.all([bob.waitForEvent('download'), bob.getByTestId('export-png-pipeline-stage').click()]);
		expect(png.suggestedFilename()).toBe('accord-pipeline-stage.png');
		const bytes = await (await import('node:fs/promises')).readFile((await png.path())!);
		expect([...bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
		const [svgPng] = await Promise.all([bob.waitForEvent('download'), bob.getByTestId('export-png-heatmap').click()]);
		expect(svgPng.suggestedFilename()).toBe('accord-heatmap.png');
	});

	it('changes after an edit in the other browser, without a reload', async () => {
		const qualifiedBefore = await reached(bob, 1);
		const leadValueBefore = (await barValues(bob, 'bars-pipeline-stage')).values[0][0];
		// alice moves Acme from lead to qualified on her board.
		await alice.locator(`[data-testid="board-card"][data-id="${acme}"]`).focus();
		const started = Date.now();
		await alice.keyboard.press(']');
		await expect.poll(() => reached(bob, 1), { timeout: 10_000, interval: 50 }).toBe(qualifiedBefore + 1);
		console.log(`[dashboard] alice's move seen in bob's funnel after ${Date.now() - started} ms`);
		// The stage chart moved the value too (CNY is the largest currency here, so the one shown).
		await expect.poll(async () => (await barValues(bob, 'bars-pipeline-stage')).values[0][0], { timeout: 5_000 }).not.toBe(leadValueBefore);
	});

	it('renders every chart offline, from this device’s copy', async () => {
		const online = await reached(bob, 0);
		const context = bob.context();
		await context.setOffline(true);
		await bob.waitForSelector('[data-testid="connection-status"][data-status="offline"]', { timeout: 10_000 });
		await bob.reload();
		await bob.waitForSelector('[data-testid="dashboard"]', { timeout: 20_000 });
		await expect.poll(() => bob.getByTestId('dashboard-source').getAttribute('data-source'), { timeout: 15_000 }).toBe('local');
		// Every record was copied to this device: the funnel's first step counts them all.
		await expect.poll(() => reached(bob, 0), { timeout: 15_000 }).toBe(online);
		for (const chart of BAR_CHARTS) expect(await bob.getByTestId(chart).locator('canvas').count(), chart).toBeGreaterThan(0);
		expect(await bob.locator('[data-testid="heatmap-svg"] rect[data-count]').count()).toBe(168);
		expect(await bob.getByTestId('dashboard-source').innerText()).toContain('Offline');
		// The remembered history (won/lost, days in stage) is said to be the server's, from when.
		expect(await bob.getByTestId('dashboard-source').innerText()).toContain('as it last gave them');
		await context.setOffline(false);
		await expect.poll(() => bob.getByTestId('dashboard-source').getAttribute('data-source'), { timeout: 20_000 }).toBe('server');
	});

	it('lets the person choose N for churn risk', async () => {
		const count = async () => Number(await bob.getByTestId('churn-count').getAttribute('data-count'));
		await bob.getByTestId('dashboard-churn-days').fill('1');
		// Records made moments ago are idle less than a day: every demo record older than that is listed, these are not.
		await expect.poll(count, { timeout: 10_000 }).toBeGreaterThanOrEqual(0);
		const atOne = await count();
		await bob.getByTestId('dashboard-churn-days').fill('3650');
		await expect.poll(count, { timeout: 10_000 }).toBeLessThanOrEqual(atOne);
		await bob.getByTestId('dashboard-churn-days').fill('30');
	});

	it('narrows every chart to a segment typed in the query language, kept in the address, online and offline', async () => {
		const all = await reached(bob, 0);
		await bob.getByTestId('dashboard-segment').fill('owner:wang.fang');
		const api = (await (await apiFetch(`${server.url}/api/analytics?tz=UTC&q=${encodeURIComponent('owner:wang.fang')}`)).json()) as { dashboard: Dashboard };
		expect(api.dashboard.funnel[0].reached).toBeGreaterThan(0);
		expect(api.dashboard.funnel[0].reached).toBeLessThan(all);
		await expect.poll(() => reached(bob, 0), { timeout: 10_000 }).toBe(api.dashboard.funnel[0].reached);
		await expect.poll(() => new URL(bob.url()).searchParams.get('q'), { timeout: 5_000 }).toBe('owner:wang.fang');
		// Offline, the device's copy gives the same segment.
		const context = bob.context();
		await context.setOffline(true);
		await bob.reload();
		await bob.waitForSelector('[data-testid="dashboard"]', { timeout: 20_000 });
		expect(await bob.getByTestId('dashboard-segment').inputValue()).toBe('owner:wang.fang');
		await expect.poll(() => bob.getByTestId('dashboard-source').getAttribute('data-source'), { timeout: 15_000 }).toBe('local');
		await expect.poll(() => reached(bob, 0), { timeout: 15_000 }).toBe(api.dashboard.funnel[0].reached);
		await context.setOffline(false);
		await expect.poll(() => bob.getByTestId('dashboard-source').getAttribute('data-source'), { timeout: 20_000 }).toBe('server');
		// A segment that cannot be read is said, in words.
		await bob.getByTestId('dashboard-segment').fill('value>abc');
		await expect.poll(() => bob.locator('.dash-error').innerText().catch(() => ''), { timeout: 5_000 }).toContain('The segment cannot be read');
		await bob.getByTestId('dashboard-segment').fill('');
		await expect.poll(() => reached(bob, 0), { timeout: 10_000 }).toBe(all);
		expect(new URL(bob.url()).searchParams.get('q')).toBeNull();
	});

	it('looks right in English and Chinese, on a desktop and at phone width (screenshots)', async () => {
		await bob.setViewportSize({ width: 1280, height: 1600 });
		await readable(bob, 'English, 1280 px');
		expect(await bob.getByTestId('bars-pipeline-stage').locator('.u-legend .u-value').first().innerText()).toBe('Total');
		await bob.screenshot({ path: screenshotPath('dashboard-en.png'), fullPage: false });
		const wang = await pageAs(browser, server, 'wang.fang', { locale: 'zh-CN', viewport: { width: 1280, height: 1600 } });
		await openDashboard(wang, server);
		expect(await wang.locator('h1').innerText()).toBe('数据仪表盘');
		expect(await wang.getByTestId('chart-funnel').locator('h2').innerText()).toBe('阶段漏斗');
		await readable(wang, 'Chinese, 1280 px');
		expect(await wang.getByTestId('bars-pipeline-stage').locator('.u-legend .u-value').first().innerText()).toBe('合计');
		await wang.screenshot({ path: screenshotPath('dashboard-zh.png'), fullPage: false });
		for (const [page, name] of [
			[bob, 'dashboard-en-phone.png'],
			[wang, 'dashboard-zh-phone.png']
		] as const) {
			await page.setViewportSize({ width: 390, height: 844 });
			await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth), { timeout: 3_000 }).toBeLessThanOrEqual(390);
			// The charts resized to the narrow screen.
			const width = await page.getByTestId('bars-pipeline-stage').locator('canvas').first().evaluate((c) => c.getBoundingClientRect().width);
			expect(width).toBeLessThanOrEqual(390);
			await readable(page, `${name}, 390 px`);
			await page.screenshot({ path: screenshotPath(name), fullPage: false });
			// Further down: the funnel and the bar charts at phone width.
			await page.getByTestId('chart-funnel').scrollIntoViewIfNeeded();
			await page.screenshot({ path: screenshotPath(name.replace('.png', '-charts.png')), fullPage: false });
		}
		await wang.context().close();
	});
});
