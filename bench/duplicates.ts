/**
 * Duplicate detection at size: a workspace of N generated customers (a third in
 * Chinese, some with a website) of which a few percent are planted near-copies of
 * another (the name in pinyin, the company without its legal form, the email in
 * capitals, the phone written nationally, the website on another subdomain). Rows are
 * written in bulk with the blocking keys the projection gives them (duplicateKeys, the
 * same function), without search tokens, which the finder never reads. Then, through the server's duplicate finder (server/duplicates.ts,
 * the code behind POST /api/records and GET /api/duplicates):
 *
 * - the check on create: candidates of a record about to be created, for new records
 *   and near-copies alike; target p95 ≤ 50 ms;
 * - the full scan: every cluster of the workspace; target ≤ 10 s;
 * - and how many planted copies the scan found (a check of the rules, not a target).
 *
 * Prints a table and writes bench/results/duplicates-<store>.json. Not part of npm test.
 *
 *   node --import tsx bench/duplicates.ts [--records 100000] [--checks 500] [--store pglite|postgres]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { createSqlStore } from '../server/store/sql-store.ts';
import { openPglite, openPostgres } from '../server/store/sql.ts';
import { MAX_KEY_GROUP, createDuplicateFinder } from '../server/duplicates.ts';
import { projectRecord } from '../src/lib/model/projection.ts';
import { hanSyllables } from '../src/lib/search/pinyin.ts';
import { DUPLICATE_KEYS_VERSION, clusterGroups, duplicateKeys } from '../src/lib/model/duplicates.ts';
import type { CustomerRecord } from '../src/lib/model/record.ts';
import type { Scalar } from '../src/lib/model/schema.ts';
import { tempPostgresUrl } from '../tests/support/databases.ts';
import { percentiles } from './lib/report.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '100000' }, checks: { type: 'string', default: '500' }, store: { type: 'string' } } });
const COUNT = Number(values.records);
const CHECKS = Number(values.checks);
const STORE = values.store ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
const CHECK_TARGET_MS = 50;
const SCAN_TARGET_S = 10;
/** One record in this many is a planted near-copy of an earlier one. */
const COPY_EVERY = 25;

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'.split('');
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞云辉建国志红梅林晨宇轩浩然子涵欣怡思雨嘉琪佳豪俊杰博文天宇晓东海燕金凤'.split('');
const FIRST = ['James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'William', 'Elizabeth', 'David', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen', 'Ingrid', 'Olaf', 'Priya', 'Arjun', 'Sofia', 'Mateo', 'Yuki', 'Hana', 'Lars', 'Elena'];
const LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Olsen', 'Sharma', 'Rossi', 'Tanaka', 'Müller', 'Dubois', 'Novak', 'Kowalski', 'Silva', 'Nguyen'];
const ZH_WORDS = '华信恒通宏达鑫源瑞丰嘉禾盛世天成金桥东方远航新启明光海诚德利泰安康汇'.split('');
const ZH_TRADES = ['科技', '贸易', '实业', '电子', '物流', '医药', '建材', '食品'];
const EN_WORDS = ['Acme', 'Nordlys', 'Bluewave', 'Summit', 'Cedar', 'Orbit', 'Granite', 'Harbor', 'Lumen', 'Vertex', 'Pioneer', 'Aurora', 'Falcon', 'Maple', 'Quartz', 'Sterling'];
const EN_TRADES = ['Systems', 'Trading', 'Logistics', 'Foods', 'Labs', 'Partners', 'Industries', 'Media'];

/** A deterministic pseudo-random stream, so every run builds the same workspace. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
const rand = random(20261207);
const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];

/** One original customer; `i` makes its email, phone and company distinct. */
function original(i: number): Record<string, Scalar> {
	const zh = i % 3 === 0;
	const company = zh
		? `${pick(ZH_WORDS)}${pick(ZH_WORDS)}${pick(ZH_TRADES)}${i % 7}号有限公司`.replace(/\d号/, (m) => '一二三四五六七'[Number(m[0])] + '号')
		: `${pick(EN_WORDS)} ${pick(EN_TRADES)} ${i % 997} ${pick(['Ltd', 'Inc', 'GmbH', 'LLC', 'Pte Ltd'])}`;
	const fields: Record<string, Scalar> = {
		name: zh ? `${pick(SURNAMES)}${pick(GIVEN)}${rand() < 0.5 ? pick(GIVEN) : ''}` : `${pick(FIRST)} ${pick(LAST)}`,
		company,
		email: `c${i}@${zh ? 'example.cn' : 'example.com'}`,
		phone: `+86 138 ${String(Math.floor(i / 10_000)).padStart(4, '0')} ${String(i % 10_000).padStart(4, '0')}`,
		country: 'CN'
	};
	if (i % 4 === 0) fields.website = `https://www.site${i}.com`;
	return fields;
}

/** A near-copy of `of`, typed differently: one of the ways a duplicate arrives. */
function nearCopy(of: Record<string, Scalar>, variant: number): Record<string, Scalar> {
	const name = String(of.name);
	const company = String(of.company);
	switch (variant % 4) {
		case 0:
			// Another spelling of the name and company, nothing else (the hardest: name and company alone).
			return {
				name: /\p{Script=Han}/u.test(name) ? hanSyllables(name, true).map((s) => s[0].toUpperCase() + s.slice(1)).join(' ') : name.toUpperCase().replace(/ /g, '  '),
				company: company.replace(/(有限公司| Ltd| Inc| GmbH| LLC| Pte Ltd)$/u, '')
			};
		case 1:
			return { name: `Contact ${variant}`, email: ` ${String(of.email).toUpperCase()}` };
		case 2:
			return { name: `Caller ${variant}`, phone: String(of.phone).replace('+86 ', '0086 '), country: 'CN' };
		default:
			// Only some customers have a website; the others arrive by phone, written nationally.
			return of.website
				? { name: `Web lead ${variant}`, website: String(of.website).replace('www.', 'sales.') }
				: { name: `Caller ${variant}`, phone: String(of.phone).replace('+86 ', '0'), country: 'CN' };
	}
}

function recordOf(id: string, fields: Record<string, Scalar>): CustomerRecord {
	return { id, fields, tags: [], contacts: [], activities: [], notes: '', meta: { schema: 1, workspace: 'bench', createdAt: new Date().toISOString(), createdBy: 'bench', archived: false } };
}

const data = mkdtempSync(path.join(os.tmpdir(), 'accord-bench-dup-'));
const temp = STORE === 'postgres' ? await tempPostgresUrl() : null;
if (STORE === 'postgres' && !temp) throw new Error('--store postgres needs DATABASE_URL');
const sql = temp ? await openPostgres(temp.url) : await openPglite(path.join(data, 'pglite'));
const store = createSqlStore(sql);
const results: Record<string, unknown> = {
	store: STORE,
	records: COUNT,
	machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverage: os.loadavg().map((n) => Math.round(n * 10) / 10), node: process.version }
};
const rows: string[][] = [];
try {
	await store.migrate();
	await store.ensureWorkspace('bench', 'bench');

	// ---- the workspace: originals, and every COPY_EVERY-th record a near-copy of an earlier one
	const loadStarted = performance.now();
	const originals: { id: string; fields: Record<string, Scalar> }[] = [];
	const planted: [string, string][] = [];
	const CHUNK = 1_000;
	for (let start = 0; start < COUNT; start += CHUNK) {
		const batch: { id: string; fields: Record<string, Scalar> }[] = [];
		for (let i = start; i < Math.min(COUNT, start + CHUNK); i++) {
			const id = randomUUID();
			if (i % COPY_EVERY === COPY_EVERY - 1 && originals.length > 0) {
				const of = originals[Math.floor(rand() * originals.length)];
				batch.push({ id, fields: nearCopy(of.fields, i) });
				planted.push([of.id, id]);
			} else {
				const fields = original(i);
				batch.push({ id, fields });
				originals.push({ id, fields });
			}
		}
		// Documents without content (the finder reads rows only), and their list rows with the
		// keys the projection writer gives them (duplicateKeys); written in bulk here, without
		// the search tokens the projection would also make, which the finder never reads.
		await sql.query(`INSERT INTO documents (id, workspace_id, last_seq) SELECT unnest($1::uuid[]), 'bench', 0`, [batch.map((r) => r.id)]);
		const projected = batch.map((r) => ({ ...projectRecord(recordOf(r.id, r.fields), new Date().toISOString()), keys: duplicateKeys(r.fields) }));
		await sql.query(
			`INSERT INTO records (id, workspace_id, name, company, email, phone, country, created_at, updated_at, duplicate_keys, duplicate_version)
			 SELECT v.id, 'bench', v.name, v.company, v.email, v.phone, v.country, v.at, v.at, ARRAY(SELECT jsonb_array_elements_text(v.keys)), $2
			   FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, name text, company text, email text, phone text, country text, at timestamptz, keys jsonb)`,
			[JSON.stringify(projected.map((row) => ({ id: row.id, name: row.name, company: row.company, email: row.email, phone: row.phone, country: row.country, at: row.updatedAt, keys: row.keys }))), DUPLICATE_KEYS_VERSION]
		);
	}
	await sql.query('ANALYZE records');
	const loadSeconds = (performance.now() - loadStarted) / 1000;
	results.load = { seconds: loadSeconds, planted: planted.length };
	console.log(`loaded ${COUNT} records (${planted.length} planted near-copies) in ${loadSeconds.toFixed(1)} s on ${STORE}`);

	const finder = createDuplicateFinder(store, 'bench');
	const actor = { id: 'bench-editor', name: 'Bench', workspace: 'bench', role: 'editor' as const };

	// ---- the check on create: half near-copies of stored records, half new customers
	const checkTimes: number[] = [];
	let found = 0;
	// Warm-up, untimed: the pinyin dictionary loads on first use, and the database's caches fill.
	for (let n = 0; n < 20; n++) await finder.forFields(actor, original(COUNT + 10_000 + n));
	for (let n = 0; n < CHECKS; n++) {
		const fields = n % 2 === 0 ? nearCopy(originals[Math.floor(rand() * originals.length)].fields, n) : original(COUNT + 1 + n);
		const started = performance.now();
		const candidates = await finder.forFields(actor, fields);
		checkTimes.push(performance.now() - started);
		if (n % 2 === 0 && candidates.length > 0) found++;
	}
	const check = percentiles(checkTimes);
	const checkMet = check.p95 <= CHECK_TARGET_MS;
	results.check = { ...check, checks: CHECKS, nearCopiesFound: found, nearCopies: Math.ceil(CHECKS / 2), targetMs: CHECK_TARGET_MS, met: checkMet };
	rows.push([`check on create (${CHECKS}, p50 / p95 / max)`, `${check.p50.toFixed(1)} / ${check.p95.toFixed(1)} / ${check.max.toFixed(1)} ms`, `p95 ≤ ${CHECK_TARGET_MS} ms`, checkMet ? 'met' : 'missed']);

	// ---- the full scan
	const scanStarted = performance.now();
	const scan = await finder.scan({ ...actor, role: 'admin' });
	const scanSeconds = (performance.now() - scanStarted) / 1000;
	const scanMet = scanSeconds <= SCAN_TARGET_S;
	const together = new Map<string, number>();
	// The finder answers at most MAX_CLUSTERS; recall is counted over every cluster, from the same groups.
	const all = clusterGroups((await store.duplicateGroups('bench', { id: 'bench', admin: true }, MAX_KEY_GROUP)).groups);
	all.forEach((cluster, index) => cluster.ids.forEach((id) => together.set(id, index)));
	const plantedFound = planted.filter(([a, b]) => together.has(a) && together.get(a) === together.get(b)).length;
	results.scan = { seconds: scanSeconds, scanned: scan.scanned, clusters: scan.total, answered: scan.clusters.length, skippedKeys: scan.skippedKeys, plantedFound, targetSeconds: SCAN_TARGET_S, met: scanMet };
	rows.push([`full scan of ${scan.scanned} records`, `${scanSeconds.toFixed(2)} s (${scan.total} clusters, ${scan.skippedKeys} keys too common)`, `≤ ${SCAN_TARGET_S} s`, scanMet ? 'met' : 'missed']);
	rows.push(['planted near-copies found by the scan', `${plantedFound} of ${planted.length} (the answer lists the first ${scan.clusters.length} clusters)`, '', '']);
	rows.push(['near-copies found by the check', `${found} of ${Math.ceil(CHECKS / 2)}`, '', '']);
} finally {
	await store.close();
	await temp?.drop();
	rmSync(data, { recursive: true, force: true });
}

const headers = ['measure', 'result', 'target', ''];
console.log(`\nDuplicates, ${COUNT} records on ${STORE} (load average at start ${(results.machine as { loadAverage: number[] }).loadAverage.join(', ')}):\n`);
console.log(`| ${headers.join(' | ')} |\n|${headers.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
const dir = path.resolve(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, `duplicates-${STORE}.json`), `${JSON.stringify({ ...results, finishedAt: new Date().toISOString() }, null, 2)}\n`);
