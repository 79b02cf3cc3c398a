/**
 * The generated customers the import and export benchmarks read and write: 15 columns,
 * every fourth customer in Chinese, the same rows in both so their figures compare.
 */

export const CUSTOMER_COLUMNS = ['name', 'company', 'title', 'email', 'phone', 'website', 'industry', 'stage', 'value', 'currency', 'country', 'city', 'address', 'tags', 'notes'] as const;

/** Row i's 15 values: every fourth row in Chinese. */
export function customerRow(i: number): string[] {
	const zh = i % 4 === 0;
	return [
		zh ? `客户${i}` : `Customer ${i}`,
		zh ? `华信科技${i % 997}有限公司` : `Company ${i % 997} Ltd`,
		zh ? '销售经理' : 'Sales manager',
		`c${i}@example.com`,
		`+86 138 ${String(i % 10_000).padStart(4, '0')} ${String(i % 9_999).padStart(4, '0')}`,
		`https://c${i % 500}.example.com`,
		zh ? '制造业' : 'Manufacturing',
		['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'][i % 6],
		String((i % 1000) * 100),
		'CNY',
		'CN',
		zh ? '上海' : 'Shanghai',
		zh ? `浦东新区世纪大道${i % 300}号` : `${i % 300} Century Avenue`,
		`tag${i % 7}, batch${i % 3}`,
		zh ? `第一次联系：展会 ${i}` : `First contact at the fair ${i}`
	];
}

/** One CSV line of `cells`, quoted where needed. */
export const csvLine = (cells: readonly string[]): string => cells.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
