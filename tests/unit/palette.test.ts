/**
 * The command palette's pages and actions (src/lib/palette.ts): only what the person's
 * role may open or do, and ranked for what was typed, by label in either language,
 * by English or Chinese keywords, and by pinyin initials.
 */
import { describe, expect, it } from 'vitest';
import { commandsFor, rankCommands, type PaletteCommand } from '../../src/lib/palette.ts';

const EN: Record<string, string> = {
	'page:records': 'Records',
	'page:board': 'Board',
	'page:settings': 'Settings',
	'page:audit': 'Audit log',
	'action:new-record': 'New record',
	'action:language': 'Switch language to 中文',
	'action:sign-out': 'Sign out'
};
const ZH: Record<string, string> = {
	'page:records': '客户',
	'page:board': '看板',
	'page:settings': '设置',
	'page:audit': '审计日志',
	'action:new-record': '新建客户',
	'action:language': '将语言切换为English',
	'action:sign-out': '退出登录'
};
const en = (c: PaletteCommand) => EN[c.id];
const zh = (c: PaletteCommand) => ZH[c.id];
const ids = (commands: PaletteCommand[]) => commands.map((c) => c.id);

describe('palette commands', () => {
	it('offers only the pages and actions the role allows', () => {
		expect(ids(commandsFor('admin'))).toEqual(['page:records', 'page:board', 'page:settings', 'page:audit', 'action:new-record', 'action:language', 'action:sign-out']);
		expect(ids(commandsFor('editor'))).toEqual(['page:records', 'page:board', 'action:new-record', 'action:language', 'action:sign-out']);
		expect(ids(commandsFor('viewer'))).toEqual(['page:records', 'page:board', 'action:language', 'action:sign-out']);
		expect(ids(commandsFor(null))).toEqual(['action:language']);
		for (const command of commandsFor('admin')) expect(command.kind === 'page').toBe(command.href !== undefined);
	});

	it('lists everything for an empty query, in the palette order', () => {
		expect(ids(rankCommands(commandsFor('admin'), '  ', en))).toEqual(ids(commandsFor('admin')));
	});

	it('ranks a label match first, then keyword matches, and drops what does not match', () => {
		expect(ids(rankCommands(commandsFor('admin'), 'set', en))).toEqual(['page:settings']);
		expect(ids(rankCommands(commandsFor('admin'), 'new', en))[0]).toBe('action:new-record');
		expect(ids(rankCommands(commandsFor('admin'), 'audit', en))).toEqual(['page:audit']);
		// "log" is the start of a word of "Audit log" and of the keyword "log out".
		expect(ids(rankCommands(commandsFor('admin'), 'log', en))).toEqual(expect.arrayContaining(['page:audit', 'action:sign-out']));
		expect(rankCommands(commandsFor('admin'), 'zzz', en)).toEqual([]);
	});

	it('finds commands across languages and by pinyin initials, folded for case and width', () => {
		expect(ids(rankCommands(commandsFor('admin'), '设置', en))).toEqual(['page:settings']);
		expect(ids(rankCommands(commandsFor('admin'), 'settings', zh))).toEqual(['page:settings']);
		expect(ids(rankCommands(commandsFor('admin'), 'sz', zh))).toEqual(['page:settings']);
		expect(ids(rankCommands(commandsFor('admin'), 'ＢＯＡＲＤ', zh))).toEqual(['page:board']);
		expect(ids(rankCommands(commandsFor('editor'), '退出', en))).toEqual(['action:sign-out']);
		// 客户 is both the Records page and part of "new record" in Chinese: the page's own label ranks first.
		expect(ids(rankCommands(commandsFor('editor'), '客户', zh))).toEqual(['page:records', 'action:new-record']);
	});

	it('never offers what the role may not do, whatever is typed', () => {
		expect(ids(rankCommands(commandsFor('viewer'), 'new', en))).toEqual([]);
		expect(ids(rankCommands(commandsFor('editor'), 'settings', en))).toEqual([]);
	});
});
