/**
 * The search benchmarks' records and queries (bench/search-engines.ts in Node,
 * bench/search-browser.ts in headless Chromium): the same synthetic CRM records, 70%
 * Chinese names and companies, deterministic for a seed, and one fixed query set.
 */
import type { CustomerRecord } from '../src/lib/model/record.ts';

export const SEED = 20261207;

// ------------------------------------------------------------------ records

/** mulberry32: a small deterministic PRNG (the same records on every run). */
export function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧阳'.split('');
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅鹏飞宇辉玲婷文斌浩然晨阳子涵欣怡思远俊杰雪梅志强海燕春华'.split('');
const CITIES = ['北京', '上海', '广州', '深圳', '杭州', '成都', '武汉', '南京', '西安', '苏州', '天津', '重庆', '长沙', '郑州', '青岛', '厦门'];
const WORDS = ['华信', '腾达', '字节跳动', '宏图', '瑞丰', '天成', '博远', '金桥', '安泰', '恒通', '中科', '新元', '明珠', '东方', '汇智', '远景', '星辰', '云帆', '盛世', '华为'];
const TRADES = ['科技', '贸易', '物流', '医药', '电子', '软件', '机械', '食品', '建材', '咨询', '教育', '传媒'];
const FIRST = ['James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Susan', 'Élodie', 'Søren', 'Aisha', 'Carlos', 'Priya', 'Noah', 'Olivia', 'Liam'];
const LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Martin', 'Wilson', 'Anderson', 'Taylor', 'Thomas', 'Moore', 'Jackson', 'Durand', 'Nguyen', 'Singh', 'Kim', 'Okafor'];
const ORGS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Cyberdyne', 'Soylent', 'Tyrell', 'Wonka', 'Gringotts', 'Oscorp', 'Aperture'];
const KINDS = ['Industries', 'Logistics', 'Software', 'Foods', 'Medical', 'Partners', 'Labs', 'Trading'];
const STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];
const OWNERS = ['alice', 'bob', 'wang', 'carol', 'li'];
const TAGS = ['vip', 'trial', 'renewal', 'partner', '重点', '华东', '华南', 'churn-risk'];
const NOTE_ZH = ['客户对报价表示满意，下周安排演示。', '需要跟进合同细节。', '这是一个测试备注。', '采购部门正在评估我们的方案。'];
const NOTE_EN = ['Asked for a revised quote.', 'Demo went well; follow up next week.', 'Budget approved for Q3.', 'Waiting on legal review.'];

/** The i-th synthetic record: 70% Chinese people and companies, the rest English-speaking. */
export function syntheticRecord(i: number, rng: () => number): CustomerRecord {
	const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)];
	const chinese = rng() < 0.7;
	const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rng() * 10)).join('');
	let fields: CustomerRecord['fields'];
	let contactName: string;
	if (chinese) {
		const city = pick(CITIES);
		const name = pick(SURNAMES) + pick(GIVEN) + (rng() < 0.6 ? pick(GIVEN) : '');
		contactName = pick(SURNAMES) + pick(GIVEN);
		fields = { name, company: `${city}${pick(WORDS)}${pick(TRADES)}有限公司`, city, phone: `+86 1${3 + Math.floor(rng() * 6)}${digits(9)}`, email: `${['zhang', 'li', 'wang', 'chen', 'liu'][i % 5]}${i}@${pick(['huaxin.cn', 'qq.com', '163.com', 'tengda.com.cn'])}`, country: 'CN', currency: 'CNY' };
	} else {
		const first = pick(FIRST);
		const last = pick(LAST);
		contactName = `${pick(FIRST)} ${pick(LAST)}`;
		const org = pick(ORGS);
		fields = { name: `${first} ${last}`, company: `${org} ${pick(KINDS)} Ltd`, city: pick(['London', 'New York', 'Singapore', 'Sydney', 'Dublin']), phone: `+1 415 ${digits(3)} ${digits(4)}`, email: `${first.toLowerCase()}.${last.toLowerCase()}${i}@${org.toLowerCase()}.com`, country: pick(['US', 'GB', 'SG', 'AU', 'IE']), currency: 'USD' };
	}
	fields.stage = pick(STAGES);
	fields.owner = pick(OWNERS);
	fields.value = Math.floor(rng() * 500) * 1000;
	const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
	return {
		id,
		fields,
		tags: rng() < 0.5 ? [pick(TAGS)] : [],
		contacts: [{ id: `c${i}`, name: contactName, title: chinese ? '采购经理' : 'Buyer', email: `contact${i}@example.com` }],
		activities: [{ id: `a${i}`, kind: 'call', subject: chinese ? '电话跟进' : 'Follow-up call', at: '2026-01-01T00:00:00.000Z' }],
		notes: chinese ? pick(NOTE_ZH) : pick(NOTE_EN),
		meta: { schema: 1, workspace: 'bench', createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'alice', archived: false }
	};
}

/** The fixed query set: narrow (a name, a phone, an email) and broad (a common character, a one-letter prefix). */
export const QUERIES: { text: string; kind: 'narrow' | 'broad' }[] = [
	{ text: '张伟', kind: 'narrow' },
	{ text: '王芳', kind: 'narrow' },
	{ text: 'zhangwei', kind: 'narrow' },
	{ text: 'zw', kind: 'narrow' },
	{ text: '字节跳动', kind: 'narrow' },
	{ text: '深圳华信', kind: 'narrow' },
	{ text: 'zhang1234', kind: 'narrow' },
	{ text: 'acme logistics', kind: 'narrow' },
	{ text: 'elodie durand', kind: 'narrow' },
	{ text: 'huaxin', kind: 'narrow' },
	{ text: '8000', kind: 'narrow' },
	{ text: 'contact4242@example.com', kind: 'narrow' },
	{ text: 'wayne*', kind: 'narrow' },
	{ text: '科技', kind: 'broad' },
	{ text: '深圳', kind: 'broad' },
	{ text: '有限公司', kind: 'broad' },
	{ text: '华', kind: 'broad' },
	{ text: 'wang', kind: 'broad' },
	{ text: 'a', kind: 'broad' },
	{ text: 'li', kind: 'broad' }
];

