/**
 * Demo customer records for a new workspace: about half Chinese people and companies,
 * half English-speaking (US, GB, SG, AU, IE). Deterministic: the output is a pure
 * function of the options, so a seed always yields the same records.
 *
 * Every value goes through the model's validation and normalisation before it is
 * returned, and a value that fails throws, so bad demo data can never be seeded.
 */
import { ACTIVITY_KINDS, MAX_NOTES_LENGTH, type ActivityKind, type Scalar, type Stage } from '../../src/lib/model/schema.ts';
import { isActivityKind, normaliseDate, normaliseTag, validateField, validateFields } from '../../src/lib/model/validate.ts';
import type { Activity, Contact, NewRecord } from '../../src/lib/model/record.ts';
import { DEMO_PEOPLE } from '../../src/lib/people.ts';

export interface DemoOptions {
	workspace: string;
	/** How many records; 200 by default. */
	count?: number;
	/** PRNG seed; 1 by default. */
	seed?: number;
	/** Reference time for createdAt, activities and follow-ups; the start of today (UTC) by default. */
	now?: Date;
}

const DAY = 86_400_000;

/** mulberry32: a tiny, well-distributed 32-bit PRNG; returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

type Rng = ReturnType<typeof mulberry32>;
const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
const digits = (rng: Rng, n: number): string => Array.from({ length: n }, () => int(rng, 0, 9)).join('');
const ascii = (text: string): string => text.toLowerCase().replace(/[^a-z]/g, '');
function weighted<T>(rng: Rng, entries: readonly (readonly [T, number])[]): T {
	let r = rng() * entries.reduce((sum, [, w]) => sum + w, 0);
	for (const [item, w] of entries) if ((r -= w) < 0) return item;
	return entries[entries.length - 1][0];
}
/** Log-uniform amount rounded to two significant digits: 12,000 or 480,000, never 123,457. */
function amount(rng: Rng, min: number, max: number): number {
	const v = Math.exp(Math.log(min) + rng() * (Math.log(max) - Math.log(min)));
	const step = 10 ** Math.max(0, Math.floor(Math.log10(v)) - 1);
	return Math.round(v / step) * step;
}

/** A funnel: many leads, fewer at each later stage. */
const STAGE_WEIGHTS: readonly (readonly [Stage, number])[] = [
	['lead', 34], ['qualified', 22], ['proposal', 15], ['negotiation', 10], ['won', 9], ['lost', 10]
];

// ---- Chinese-speaking market -------------------------------------------------------------
/** [汉字, pinyin] pairs. */
const ZH_SURNAMES = [['张', 'zhang'], ['王', 'wang'], ['李', 'li'], ['刘', 'liu'], ['陈', 'chen'], ['杨', 'yang'], ['黄', 'huang'], ['赵', 'zhao'], ['吴', 'wu'], ['周', 'zhou'], ['徐', 'xu'], ['孙', 'sun'], ['马', 'ma'], ['朱', 'zhu'], ['胡', 'hu'], ['郭', 'guo'], ['何', 'he'], ['林', 'lin'], ['罗', 'luo'], ['高', 'gao']] as const;
const ZH_GIVEN = [['伟', 'wei'], ['芳', 'fang'], ['娜', 'na'], ['敏', 'min'], ['静', 'jing'], ['磊', 'lei'], ['强', 'qiang'], ['军', 'jun'], ['洋', 'yang'], ['艳', 'yan'], ['杰', 'jie'], ['涛', 'tao'], ['明', 'ming'], ['超', 'chao'], ['秀英', 'xiuying'], ['晓东', 'xiaodong'], ['海燕', 'haiyan'], ['志强', 'zhiqiang'], ['文博', 'wenbo'], ['思远', 'siyuan'], ['雨萱', 'yuxuan'], ['建华', 'jianhua']] as const;
const ZH_BRANDS = [['华信', 'huaxin'], ['恒达', 'hengda'], ['鼎盛', 'dingsheng'], ['瑞丰', 'ruifeng'], ['天成', 'tiancheng'], ['博远', 'boyuan'], ['云图', 'yuntu'], ['海纳', 'haina'], ['德润', 'derun'], ['星辰', 'xingchen'], ['联创', 'lianchuang'], ['万象', 'wanxiang'], ['嘉禾', 'jiahe'], ['青橙', 'qingcheng']] as const;
/** [company kind, domain slug, industry]. */
const ZH_KINDS = [['科技', 'tech', '软件与信息技术'], ['贸易', 'trade', '进出口贸易'], ['医疗器械', 'medical', '医疗健康'], ['物流', 'logistics', '物流运输'], ['食品', 'foods', '食品饮料'], ['新能源', 'energy', '新能源'], ['教育科技', 'edu', '教育培训'], ['智能制造', 'mfg', '制造业']] as const;
const ZH_TITLES = ['总经理', '采购经理', '技术总监', '市场总监', '财务经理', '运营主管', '销售副总裁', '首席信息官', '行政主管', 'IT 经理'];
/** [city, districts and streets, region tag]. */
const ZH_CITIES = [
	['上海', ['浦东新区张江路', '徐汇区漕溪北路', '静安区南京西路'], '华东'],
	['杭州', ['西湖区文三路', '滨江区江南大道'], '华东'],
	['北京', ['海淀区中关村大街', '朝阳区建国路'], '华北'],
	['深圳', ['南山区科技园科苑路', '福田区深南大道'], '华南'],
	['广州', ['天河区珠江新城花城大道', '黄埔区科学大道'], '华南'],
	['成都', ['高新区天府大道', '锦江区红星路'], '西南']
] as const;
const ZH_SUBJECTS: Record<ActivityKind, readonly string[]> = {
	call: ['电话沟通需求', '回访客户，确认预算', '电话跟进试用情况'],
	email: ['发送产品报价单', '邮件跟进合同条款', '发送案例资料'],
	meeting: ['上门拜访，演示产品', '与采购部开会讨论方案', '线上会议：需求评审'],
	task: ['准备技术方案', '整理合同草稿', '申请特价审批'],
	note: ['客户反馈价格偏高', '客户计划下季度扩容', '对方决策人有变动']
};
const ZH_NOTES = [
	'客户对数据安全要求很高，需要私有化部署方案。',
	'预算已经批下来了，下个月初签合同。',
	'采购流程较长，需要提前准备招标材料。对方技术负责人很支持我们。',
	'去年合作很顺利，今年有意扩大采购规模。',
	'竞争对手报价更低，我们的优势在本地化服务。',
	'老板是展会上认识的，对我们的产品很感兴趣。'
];

// ---- English-speaking markets ------------------------------------------------------------
const EN_FIRST = ['James', 'Emily', 'Michael', 'Sarah', 'David', 'Olivia', 'Daniel', 'Sophie', 'Matthew', 'Charlotte', 'Ryan', 'Hannah', 'Andrew', 'Grace', 'Thomas', 'Chloe', 'Priya', 'Arjun', 'Rachel', 'Marcus', 'Liam', 'Zoe'];
const EN_LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Taylor', 'Wilson', 'Davies', 'Evans', 'Thompson', 'Walker', 'Clarke', 'Wright', 'Mitchell', 'Campbell', "O'Brien", 'Patel', 'Nguyen', 'Murphy'];
const SG_LAST = ['Tan', 'Lim', 'Ng', 'Lee', 'Wong', 'Goh', 'Chua', 'Koh'];
const EN_BRANDS = ['Northwind', 'Bluefin', 'Harbor', 'Summit', 'Brightline', 'Redwood', 'Keystone', 'Lumen', 'Crestview', 'Ironbark', 'Meridian', 'Oakridge', 'Silverline', 'Tidewater'];
/** [company word, domain slug, industry]. */
const EN_KINDS = [['Software', 'software', 'Software'], ['Logistics', 'logistics', 'Logistics'], ['Health', 'health', 'Healthcare'], ['Foods', 'foods', 'Food & Beverage'], ['Energy', 'energy', 'Energy'], ['Analytics', 'analytics', 'Software'], ['Manufacturing', 'mfg', 'Manufacturing'], ['Learning', 'learning', 'Education']] as const;
const EN_TITLES = ['CEO', 'Founder', 'Head of Procurement', 'VP Sales', 'CTO', 'Operations Manager', 'IT Director', 'Finance Director', 'Marketing Manager'];
interface Market {
	country: string;
	currency: string;
	/** Deal sizes in the market's currency. */
	deal: readonly [number, number];
	legal: string;
	tld: string;
	/** Hours ahead of UTC, so that activities fall in office hours. */
	utc: number;
	last: readonly string[];
	/** [city, phone number maker, address maker]. */
	cities: readonly (readonly [string, (rng: Rng) => string, (rng: Rng) => string])[];
}
const EN_MARKETS: readonly (readonly [Market, number])[] = [
	[{ country: 'US', currency: 'USD', deal: [5_000, 400_000], legal: 'Inc.', tld: 'com', utc: -6, last: EN_LAST, cities: [
		['San Francisco', (r) => `+1 415 555 01${digits(r, 2)}`, (r) => `${int(r, 100, 999)} Market Street, San Francisco, CA 94105`],
		['New York', (r) => `+1 212 555 01${digits(r, 2)}`, (r) => `${int(r, 10, 500)} Park Avenue, New York, NY 10022`],
		['Chicago', (r) => `+1 312 555 01${digits(r, 2)}`, (r) => `${int(r, 100, 900)} W Madison Street, Chicago, IL 60606`],
		['Austin', (r) => `(512) 555-01${digits(r, 2)}`, (r) => `${int(r, 100, 900)} Congress Avenue, Austin, TX 78701`]
	] }, 4],
	[{ country: 'GB', currency: 'GBP', deal: [4_000, 300_000], legal: 'Ltd', tld: 'co.uk', utc: 0, last: EN_LAST, cities: [
		['London', (r) => `+44 20 7946 0${digits(r, 3)}`, (r) => `${int(r, 1, 120)} Old Street, London EC1V 9HX`],
		['Manchester', (r) => `+44 161 496 0${digits(r, 3)}`, (r) => `${int(r, 1, 90)} Deansgate, Manchester M3 2BW`],
		['Edinburgh', (r) => `+44 7700 900${digits(r, 3)}`, (r) => `${int(r, 1, 60)} George Street, Edinburgh EH2 2PF`]
	] }, 2],
	[{ country: 'SG', currency: 'SGD', deal: [6_000, 500_000], legal: 'Pte Ltd', tld: 'com.sg', utc: 8, last: SG_LAST, cities: [
		['Singapore', (r) => `+65 ${pick(r, ['6', '8', '9'])}${digits(r, 3)} ${digits(r, 4)}`, (r) => `${int(r, 1, 80)} Robinson Road, #${int(r, 2, 30)}-0${int(r, 1, 9)}, Singapore 0689${digits(r, 2)}`]
	] }, 2],
	[{ country: 'AU', currency: 'USD', deal: [5_000, 300_000], legal: 'Pty Ltd', tld: 'com.au', utc: 10, last: EN_LAST, cities: [
		['Sydney', (r) => `+61 2 5550 ${digits(r, 4)}`, (r) => `${int(r, 1, 300)} George Street, Sydney NSW 2000`],
		['Melbourne', (r) => `+61 491 570 ${digits(r, 3)}`, (r) => `${int(r, 1, 300)} Collins Street, Melbourne VIC 3000`]
	] }, 1],
	[{ country: 'IE', currency: 'EUR', deal: [5_000, 250_000], legal: 'Ltd', tld: 'ie', utc: 0, last: EN_LAST, cities: [
		['Dublin', (r) => `+353 1 555 ${digits(r, 4)}`, (r) => `${int(r, 1, 90)} Sir John Rogerson's Quay, Dublin 2`]
	] }, 1]
];
const EN_SUBJECTS: Record<ActivityKind, readonly string[]> = {
	call: ['Discovery call', 'Call to confirm budget', 'Check in on the trial'],
	email: ['Sent pricing proposal', 'Follow-up on contract terms', 'Shared case studies'],
	meeting: ['On-site demo', 'Meeting with procurement', 'Quarterly business review'],
	task: ['Prepare security questionnaire', 'Draft the order form', 'Request discount approval'],
	note: ['Feels the price is high', 'Plans to add seats next quarter', 'New decision maker on their side']
};
const EN_NOTES = [
	'Met at the trade show; very interested in the offline mode.',
	'Budget approved for Q3. Legal review of the MSA is the last step.',
	'Long procurement cycle; they need a security review before the pilot.',
	'Renewal went smoothly last year and they want to expand to the sales team.',
	'A competitor is cheaper; our edge is local support and the Chinese UI.',
	'Introduced by a partner. Champion is the head of operations.'
];
const TAGS = ['vip', 'renewal', 'partner', 'referral', 'trade-show'];
const ZH_TAGS = ['重点客户', '续约', '渠道'];

/** Normalises and checks a whole record; throws on the first value the model refuses. */
function checked(record: NewRecord, index: number): NewRecord {
	const where = `demo record ${index}`;
	const result = validateFields(record.fields, { requireName: true });
	if (!result.ok) throw new Error(`${where}: invalid fields ${JSON.stringify(result.errors)}`);
	const country = result.fields.country as string | null;
	const tags = (record.tags ?? []).map((tag) => {
		const t = normaliseTag(tag);
		if (!t.ok) throw new Error(`${where}: invalid tag "${tag}": ${t.message}`);
		return t.value;
	});
	const contacts = (record.contacts ?? []).map((contact) => {
		const out: Record<string, Scalar> = {};
		for (const [key, raw] of Object.entries(contact)) {
			const v = validateField(key, raw, { country });
			if (!v.ok) throw new Error(`${where}: invalid contact ${key}: ${v.message}`);
			if (v.value !== null) out[key] = v.value;
		}
		return out as Omit<Contact, 'id'>;
	});
	const activities = (record.activities ?? []).map((activity) => {
		const at = normaliseDate(activity.at);
		if (!isActivityKind(activity.kind) || !at.ok || activity.subject.trim() === '') {
			throw new Error(`${where}: invalid activity ${JSON.stringify(activity)}`);
		}
		return { ...activity, at: at.value };
	});
	if ((record.notes ?? '').length > MAX_NOTES_LENGTH) throw new Error(`${where}: notes too long`);
	const createdAt = record.createdAt === undefined ? undefined : normaliseDate(record.createdAt);
	if (createdAt && !createdAt.ok) throw new Error(`${where}: invalid createdAt`);
	return { ...record, fields: result.fields, tags: [...new Set(tags)], contacts, activities, createdAt: createdAt?.value };
}

export function demoRecords(options: DemoOptions): NewRecord[] {
	const { workspace, count = 200, seed = 1 } = options;
	const now = (options.now ?? new Date(Math.floor(Date.now() / DAY) * DAY)).getTime();
	const rng = mulberry32(seed);
	const usedEmails = new Set<string>();
	const uniqueEmail = (local: string, domain: string): string => {
		let email = `${local}@${domain}`;
		for (let n = 2; usedEmails.has(email); n++) email = `${local}${n}@${domain}`;
		usedEmails.add(email);
		return email;
	};
	const minute = (ms: number): string => new Date(Math.floor(ms / 60_000) * 60_000).toISOString();
	const people = DEMO_PEOPLE.map((p) => p.id);
	const zhOwners = people.filter((id) => ['alice', 'wang.fang', 'li.wei'].includes(id));
	const enOwners = people.filter((id) => ['alice', 'bob', 'carol'].includes(id));

	const records: NewRecord[] = [];
	for (let i = 0; i < count; i++) {
		const zh = rng() < 0.5;
		const stage = weighted(rng, STAGE_WEIGHTS);
		const owner = pick(rng, zh ? (zhOwners.length ? zhOwners : people) : enOwners.length ? enOwners : people);
		const createdAt = now - int(rng, 1, 365) * DAY - int(rng, 0, DAY - 1);
		const tags: string[] = [];
		let fields: Record<string, Scalar>;
		let person: () => { name: string; email: string; phone: string; title: string };
		let subjects: Record<ActivityKind, readonly string[]>;
		let notes: readonly string[];
		let utc = 8;

		if (zh) {
			const [brand, brandPinyin] = pick(rng, ZH_BRANDS);
			const [kind, slug, industry] = pick(rng, ZH_KINDS);
			const [city, streets, region] = pick(rng, ZH_CITIES);
			const domain = `${brandPinyin}-${slug}.cn`;
			person = () => {
				const [surname, sp] = pick(rng, ZH_SURNAMES);
				const [given, gp] = pick(rng, ZH_GIVEN);
				// Half written in national form, as people type them; the country turns them into +86….
				const mobile = `1${pick(rng, ['3', '5', '8', '9'])}${digits(rng, 1)} ${digits(rng, 4)} ${digits(rng, 4)}`;
				return { name: surname + given, email: uniqueEmail(`${sp}.${gp}`, domain), phone: rng() < 0.5 ? `+86 ${mobile}` : mobile, title: pick(rng, ZH_TITLES) };
			};
			const main = person();
			fields = {
				name: main.name, company: `${city}${brand}${kind}有限公司`, title: main.title, email: main.email, phone: main.phone,
				website: `www.${domain}`, industry, currency: 'CNY', value: amount(rng, 30_000, 3_000_000),
				country: 'CN', city, address: `${city}市${pick(rng, streets)}${int(rng, 1, 999)}号`
			};
			if (rng() < 0.5) tags.push(region);
			if (rng() < 0.2) tags.push(pick(rng, ZH_TAGS));
			subjects = ZH_SUBJECTS;
			notes = ZH_NOTES;
		} else {
			const market = weighted(rng, EN_MARKETS);
			const [city, phone, address] = pick(rng, market.cities);
			const brand = pick(rng, EN_BRANDS);
			const [word, slug, industry] = pick(rng, EN_KINDS);
			const domain = `${ascii(brand)}-${slug}.${market.tld}`;
			person = () => {
				const first = pick(rng, EN_FIRST);
				const last = pick(rng, market.last);
				return { name: `${first} ${last}`, email: uniqueEmail(`${ascii(first)}.${ascii(last)}`, domain), phone: phone(rng), title: pick(rng, EN_TITLES) };
			};
			const main = person();
			fields = {
				name: main.name, company: `${brand} ${word} ${market.legal}`, title: main.title, email: main.email, phone: main.phone,
				website: `https://www.${domain}`, industry, currency: market.currency, value: amount(rng, market.deal[0], market.deal[1]),
				country: market.country, city, address: address(rng)
			};
			utc = market.utc;
			subjects = EN_SUBJECTS;
			notes = EN_NOTES;
		}
		fields.stage = stage;
		fields.owner = owner;
		// Half the leads have no estimate yet.
		if (stage === 'lead' && rng() < 0.5) delete fields.value;
		const open = stage !== 'won' && stage !== 'lost';
		if (open && rng() < 0.5) fields.followUpAt = new Date(now + int(rng, 1, 30) * DAY).toISOString().slice(0, 10);
		if (stage === 'won' && rng() < 0.5) tags.push(zh ? '续约' : 'renewal');
		const size = typeof fields.value === 'number' && fields.currency === 'CNY' ? fields.value / 7 : Number(fields.value ?? 0);
		if (size > 150_000) tags.push('enterprise');
		else if (size > 0 && size < 20_000 && rng() < 0.6) tags.push('smb');
		if (rng() < 0.25) tags.push(pick(rng, TAGS));

		const contacts = Array.from({ length: weighted(rng, [[0, 5], [1, 3], [2, 2]] as const) }, () => {
			const p = person();
			return rng() < 0.3 ? { name: p.name, title: p.title, email: p.email } : { name: p.name, title: p.title, email: p.email, phone: p.phone };
		});
		// Activities in the last 90 days during local office hours, never before the record existed; oldest first.
		const since = Math.max(createdAt, now - 90 * DAY);
		const activities: Omit<Activity, 'id'>[] = Array.from({ length: int(rng, 0, 4) }, () => {
			const kind = pick(rng, ACTIVITY_KINDS);
			const day = Math.floor((since + rng() * (now - since)) / DAY) * DAY;
			const at = Math.min(Math.max(day + (int(rng, 9 * 60, 17 * 60) - utc * 60) * 60_000, since), now - 60_000);
			return { kind, subject: pick(rng, subjects[kind]), at: minute(at), done: kind !== 'task' || rng() < 0.6, by: owner };
		}).sort((a, b) => a.at.localeCompare(b.at));

		const record: NewRecord = {
			fields,
			tags: tags.slice(0, 3),
			contacts,
			activities,
			workspace,
			createdBy: owner,
			createdAt: minute(createdAt)
		};
		if (rng() < 1 / 3) record.notes = pick(rng, notes);
		records.push(checked(record, i));
	}
	return records;
}
