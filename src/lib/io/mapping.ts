/**
 * Which record field each column of an imported file fills, guessed from the header's
 * name in English or Chinese (simplified or traditional), and the cell rules shared by
 * export and import (formula neutralisation, tag lists). Shared by the server's import
 * and the import page, so the preview shows exactly the mapping the server will use.
 */
import { CUSTOM_FIELD_PREFIX, FIELD_KEYS } from '../model/schema.ts';
import { foldWidth } from '../model/validate.ts';

/** A column's destination: a record field, the tags, the notes, a custom field (`x_…`), or a JSON object of custom fields. */
export type ColumnTarget = string;
/** Places besides the record's fields that a column can fill. */
export const SPECIAL_TARGETS = ['tags', 'notes', 'custom'] as const;
/** Columns an export writes that an import reads but does not store (the id, timestamps, archive state). */
export const INFORMATIONAL_COLUMNS = ['id', 'archived', 'private', 'createdAt', 'createdBy'] as const;

/** Names a header may have, per target, compared after `headerKey`. */
const SYNONYMS: Record<string, readonly string[]> = {
	name: ['name', 'fullname', 'contactname', 'customer', 'customername', 'contact', '姓名', '名字', '客户', '客户名称', '客戶', '客戶名稱', '联系人', '聯絡人', '名称', '名稱'],
	company: ['company', 'companyname', 'organization', 'organisation', 'account', 'accountname', '公司', '公司名称', '公司名稱', '单位', '單位', '企业', '企業', '机构', '機構'],
	title: ['title', 'jobtitle', 'position', 'role', '职位', '職位', '职务', '職務', '头衔', '頭銜'],
	email: ['email', 'emailaddress', 'mail', 'e-mail', '邮箱', '郵箱', '电子邮件', '電子郵件', '邮件', '電郵', '电子邮箱'],
	phone: ['phone', 'phonenumber', 'mobile', 'mobilephone', 'tel', 'telephone', 'cell', '手机', '手機', '电话', '電話', '手机号', '手機號碼', '联系电话', '聯絡電話', '移动电话', '行動電話'],
	website: ['website', 'web', 'url', 'homepage', 'site', 'domain', '网站', '網站', '网址', '網址', '主页', '首頁'],
	industry: ['industry', 'sector', '行业', '行業', '产业', '產業'],
	stage: ['stage', 'status', 'pipeline', 'dealstage', '阶段', '階段', '状态', '狀態', '销售阶段', '銷售階段'],
	owner: ['owner', 'salesrep', 'assignedto', 'accountowner', '负责人', '負責人', '所有人', '跟进人', '跟進人', '销售', '銷售'],
	value: ['value', 'amount', 'dealvalue', 'revenue', '金额', '金額', '价值', '價值', '商机金额', '預計金額'],
	currency: ['currency', '币种', '幣別', '货币', '貨幣'],
	country: ['country', 'countrycode', 'nation', '国家', '國家', '国家地区', '國家地區'],
	city: ['city', 'town', '城市', '市'],
	address: ['address', 'street', 'streetaddress', '地址', '通讯地址', '通訊地址', '详细地址'],
	followUpAt: ['followupat', 'followup', 'followupdate', 'nextfollowup', '跟进日期', '跟進日期', '下次跟进', '下次跟進'],
	tags: ['tags', 'tag', 'labels', 'label', '标签', '標籤'],
	notes: ['notes', 'note', 'comment', 'comments', 'remarks', 'description', '备注', '備註', '说明', '說明', '描述'],
	custom: ['custom', 'customfields']
};

/** A header as compared: width-folded, lower case, without spaces, underscores, dashes, dots or brackets. */
export function headerKey(header: string): string {
	return foldWidth(header)
		.normalize('NFC')
		.toLowerCase()
		.replace(/[\s_\-.:：()（）[\]【】*]/gu, '');
}

const BY_SYNONYM = new Map<string, ColumnTarget>();
for (const [target, names] of Object.entries(SYNONYMS)) for (const name of [target, ...names]) BY_SYNONYM.set(headerKey(name), target);

/** Every target a column can be mapped to by hand: the schema's fields, tags, notes and `custom`, or an `x_…` key. */
export function isColumnTarget(target: string): boolean {
	return (
		FIELD_KEYS.includes(target) ||
		(SPECIAL_TARGETS as readonly string[]).includes(target) ||
		(target.startsWith(CUSTOM_FIELD_PREFIX) && /^x_[a-z][a-z0-9_]{0,39}$/.test(target))
	);
}

/** A workspace's own field as the mapping guesses it: its key, and its label in both languages. */
export interface KnownField {
	key: string;
	label: { en: string; zh: string };
	retired?: boolean;
}

/**
 * Header names of the workspace's own (`x_…`) fields, by their English and Chinese
 * labels, so a column headed "Lead source" or "线索来源" fills the field an admin
 * defined under that label. Retired fields are not guessed.
 */
export function labelSynonyms(fields: readonly KnownField[]): Map<string, ColumnTarget> {
	const known = new Map<string, ColumnTarget>();
	for (const field of fields) {
		if (field.retired || !field.key.startsWith(CUSTOM_FIELD_PREFIX)) continue;
		for (const label of [field.label.en, field.label.zh]) {
			const key = headerKey(label);
			if (key && !BY_SYNONYM.has(key) && !known.has(key)) known.set(key, field.key);
		}
	}
	return known;
}

/**
 * The guessed target of one header, or null (the column is left out). `x_…` headers (an
 * export's custom fields) map to themselves; `known` (from `labelSynonyms`) adds the
 * workspace's own fields by label.
 */
export function guessTarget(header: string, known?: ReadonlyMap<string, ColumnTarget>): ColumnTarget | null {
	const trimmed = header.trim();
	if (/^x_[a-z][a-z0-9_]{0,39}$/.test(trimmed)) return trimmed;
	const key = headerKey(trimmed);
	return BY_SYNONYM.get(key) ?? known?.get(key) ?? null;
}

export type ColumnMapping = Record<string, ColumnTarget | null>;

/**
 * The mapping of a file's headers: the guess, corrected by `override` (header → target,
 * or null/"" to leave a column out). When two columns guess the same field, the first
 * keeps it and the later ones are left out, so no value silently overwrites another.
 */
export function mapColumns(headers: readonly string[], override: ColumnMapping = {}, known?: ReadonlyMap<string, ColumnTarget>): ColumnMapping {
	const mapping: ColumnMapping = {};
	const taken = new Set<string>();
	for (const header of headers) {
		if (Object.hasOwn(override, header)) {
			const target = override[header] || null;
			mapping[header] = target;
			if (target) taken.add(target);
		}
	}
	for (const header of headers) {
		if (Object.hasOwn(mapping, header)) continue;
		const target = guessTarget(header, known);
		mapping[header] = target && !taken.has(target) ? target : null;
		if (target) taken.add(target);
	}
	// In the file's order, as the page lists them.
	return Object.fromEntries(headers.map((header) => [header, mapping[header]]));
}

/** Problems with a hand-made mapping: unknown targets, or one target filled by two columns. */
export function mappingProblems(mapping: ColumnMapping): string[] {
	const problems: string[] = [];
	const seen = new Map<string, string>();
	for (const [header, target] of Object.entries(mapping)) {
		if (!target) continue;
		if (!isColumnTarget(target)) problems.push(`Column "${header}" is mapped to "${target}", which is not a field of a customer record.`);
		const other = seen.get(target);
		if (other !== undefined) problems.push(`Columns "${other}" and "${header}" are both mapped to ${target}; map one of them elsewhere or leave it out.`);
		seen.set(target, header);
	}
	return problems;
}

/** Characters a spreadsheet reads as the start of a formula (OWASP's list for CSV injection), and the apostrophe that escapes them. */
const FORMULA_START = /^[=+\-@\t\r']/u;

/**
 * A cell as a CSV export writes it: one starting with `=`, `+`, `-`, `@`, tab or carriage
 * return gets a leading apostrophe, so a spreadsheet shows it as text and never runs
 * it (OWASP, "CSV Injection"). A value that itself starts with an apostrophe gets one
 * more, so `restoreCell` gives back exactly the value (phone numbers such as +86…
 * survive the round trip).
 */
export function neutraliseCell(value: string): string {
	return FORMULA_START.test(value) ? `'${value}` : value;
}

/** The inverse of `neutraliseCell`, applied to every CSV cell on import. */
export function restoreCell(value: string): string {
	return value.length > 1 && value[0] === "'" && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}

/** A tags cell: tags separated by commas, semicolons, `|`, or the Chinese list marks `，`、`；`. */
export function splitTags(cell: string): string[] {
	return cell
		.split(/[,;|，、；]/u)
		.map((tag) => tag.trim())
		.filter((tag) => tag.length > 0);
}
