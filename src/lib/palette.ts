/**
 * The command palette's pages and actions, and how they rank for what was typed: pure,
 * so it is tested in Node (tests/unit/palette.test.ts) and the component only draws.
 * Records come from search (the worker's index); this module ranks the rest: only the
 * pages the person may open, only the actions their role allows, matched by their
 * label in the current language and by English and Chinese keywords (so `settings`
 * finds 设置 on a Chinese screen and `设置` finds Settings on an English one), and by
 * the pinyin initials people type for Chinese labels (`sz` for 设置).
 */
import type { Role } from './access.ts';
import { fold } from './search/tokenize.ts';

export type PaletteCommandId = 'page:records' | 'page:board' | 'page:settings' | 'page:audit' | 'action:new-record' | 'action:language' | 'action:sign-out' | `view:${string}`;

export interface PaletteCommand {
	id: PaletteCommandId;
	kind: 'page' | 'action';
	/** Where a page goes (actions have none). */
	href?: string;
	/** Words it is found by, besides its label: English, Chinese, pinyin initials. */
	keywords: string[];
	/** Its own label (a saved view's name); built-in commands are labelled by the component. */
	name?: string;
}

/** "Open a view": one page command per saved view, found by its name and by "view" / 视图. */
export function viewCommands(views: readonly { id: string; name: string; href: string }[]): PaletteCommand[] {
	return views.map((view) => ({ id: `view:${view.id}`, kind: 'page', href: view.href, name: view.name, keywords: [view.name, 'view', 'views', 'segment', '视图', 'st', 'shitu'] }));
}

const ALL: (PaletteCommand & { allowed: (role: Role | null) => boolean })[] = [
	{ id: 'page:records', kind: 'page', href: '/records', keywords: ['records', 'customers', 'list', '客户', '列表', 'kh', 'kehu'], allowed: (role) => role !== null },
	{ id: 'page:board', kind: 'page', href: '/board', keywords: ['board', 'pipeline', 'kanban', '看板', '管道', 'kb', 'kanban'], allowed: (role) => role !== null },
	{ id: 'page:settings', kind: 'page', href: '/settings', keywords: ['settings', 'members', 'tokens', 'roles', '设置', '成员', 'sz', 'shezhi'], allowed: (role) => role === 'admin' },
	{ id: 'page:audit', kind: 'page', href: '/settings/audit', keywords: ['audit', 'log', 'history', '审计', '日志', 'sj', 'shenji'], allowed: (role) => role === 'admin' },
	{ id: 'action:new-record', kind: 'action', keywords: ['new', 'create', 'add', 'record', '新建', '创建', '客户', 'xj', 'xinjian'], allowed: (role) => role === 'admin' || role === 'editor' },
	{ id: 'action:language', kind: 'action', keywords: ['language', 'chinese', 'english', '中文', '英文', '语言', 'yy', 'yuyan', 'zhongwen'], allowed: () => true },
	{ id: 'action:sign-out', kind: 'action', keywords: ['sign out', 'log out', 'logout', '退出', '登出', 'tc', 'tuichu'], allowed: (role) => role !== null }
];

/** The commands a person in `role` may use (null: not signed in), in the palette's order. */
export function commandsFor(role: Role | null): PaletteCommand[] {
	return ALL.filter((command) => command.allowed(role)).map(({ allowed: _allowed, ...command }) => command);
}

/**
 * How well `text` (a label or keyword, folded) answers `query` (folded, trimmed): 3 for
 * the whole text, 2 for its start or a word's start, 1 anywhere in it, 0 not at all.
 */
function fit(text: string, query: string): number {
	if (text === query) return 3;
	if (text.startsWith(query)) return 2;
	const at = text.indexOf(query);
	if (at < 0) return 0;
	return /[\s\-/]/.test(text[at - 1] ?? '') ? 2 : 1;
}

/**
 * The commands matching `query`, best first (ties keep the palette's order). An empty
 * query lists them all. `label` gives a command's label in the current language.
 */
export function rankCommands(commands: readonly PaletteCommand[], query: string, label: (command: PaletteCommand) => string): PaletteCommand[] {
	const wanted = fold(query).trim();
	if (wanted === '') return [...commands];
	const scored = commands.map((command, order) => {
		const words = [fold(label(command)), ...command.keywords.map(fold)];
		// The label counts a little more than a keyword.
		const points = Math.max(fit(words[0], wanted) * 2 + 1, ...words.slice(1).map((word) => fit(word, wanted) * 2));
		return { command, order, points: points > 1 ? points : 0 };
	});
	return scored
		.filter((entry) => entry.points > 0)
		.sort((a, b) => b.points - a.points || a.order - b.order)
		.map((entry) => entry.command);
}
