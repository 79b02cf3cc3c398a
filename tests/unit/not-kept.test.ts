/**
 * What the server did not keep of a change reaches the writer as data, and the browser
 * words it in its person's language: the `refused` frame's problems, read back safely,
 * and the message in English and Chinese.
 */
import { describe, expect, it } from 'vitest';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { decodeRefused, encodeRefused, readFrameHeader, MessageType, encodeFrame } from '../../src/lib/protocol/index.ts';
import { describeProblem, distinctProblems, readProblems, type ShapeProblem } from '../../src/lib/model/shape-problems.ts';
import { notKeptMessage } from '../../src/lib/i18n/index.ts';

const ID = '0b5e8f0e-3c44-4c5a-9f61-2f1d7b1a9c11';

function roundTrip(bytes: Uint8Array) {
	const decoder = decoding.createDecoder(bytes);
	const header = readFrameHeader(decoder, true);
	expect(header.type).toBe(MessageType.refused);
	return decodeRefused(decoder);
}

describe('not-kept problems on the wire', () => {
	const problems: ShapeProblem[] = [
		{ kind: 'field', field: 'email', code: 'email', raw: 'ada@@example', message: '“ada@@example” is not an email address.' },
		{ kind: 'tag', tag: 'x'.repeat(41), max: 40 },
		{ kind: 'meta', key: 'workspace' }
	];

	it('carries the problems after the code and reason, and reads them back', () => {
		const refusal = roundTrip(encodeRefused(ID, { code: 'not-kept', reason: 'Part of this change was not kept: …', problems }));
		expect(refusal).toEqual({ code: 'not-kept', reason: 'Part of this change was not kept: …', problems });
	});

	it('reads a refusal of an older server, with no problems, as before', () => {
		const old = encodeFrame(ID, MessageType.refused, (e) => {
			encoding.writeVarString(e, 'read-only');
			encoding.writeVarString(e, 'You can view this record but not change it.');
		});
		expect(roundTrip(old)).toEqual({ code: 'read-only', reason: 'You can view this record but not change it.' });
	});

	it('drops what is not shaped as a problem, and never throws on what a server sends', () => {
		expect(readProblems('not json')).toEqual([]);
		expect(readProblems('{"kind":"meta","key":"x"}')).toEqual([]);
		expect(readProblems(JSON.stringify([{ kind: 'meta' }, { kind: 'field', field: 1 }, { kind: 'keyless', place: '__proto__' }, { kind: 'notes' }, null, 3]))).toEqual([{ kind: 'notes' }]);
		expect(readProblems(JSON.stringify(Array.from({ length: 50 }, () => ({ kind: 'archived' }))))).toHaveLength(5);
	});

	it('keeps distinct problems only, five at most', () => {
		const many: ShapeProblem[] = [{ kind: 'notes' }, { kind: 'notes' }, ...Array.from({ length: 8 }, (_, i) => ({ kind: 'meta' as const, key: `k${i}` }))];
		expect(distinctProblems(many)).toEqual([{ kind: 'notes' }, { kind: 'meta', key: 'k0' }, { kind: 'meta', key: 'k1' }, { kind: 'meta', key: 'k2' }, { kind: 'meta', key: 'k3' }]);
	});
});

describe('the not-kept message', () => {
	const refusal = {
		reason: 'Part of this change was not kept: fields.country: Use a two-letter ISO country code such as CN or US, not “XX”. The previous value was kept.',
		problems: [
			{ kind: 'field', field: 'country', code: 'country', raw: 'XX', message: 'Use a two-letter ISO country code such as CN or US, not “XX”.' },
			{ kind: 'entry', list: 'contacts' }
		] satisfies ShapeProblem[]
	};

	it('is in Chinese on a Chinese page, naming the field as the workspace calls it', () => {
		const zh = notKeptMessage(refusal, (key) => (key === 'country' ? '国家' : undefined), 'zh');
		expect(zh).toBe('服务器没有保留你上一次修改中的一部分。请使用两位 ISO 国家代码，例如 CN 或 US，而不是“XX”。已保留原来的值。 一条不是字段列表的联系人未被保留。');
		expect(zh).not.toMatch(/[A-Za-z]{5,}/);
	});

	it('is in English on an English page', () => {
		expect(notKeptMessage(refusal, () => undefined, 'en')).toBe(
			'The server did not keep part of your last change. Use a two-letter ISO country code such as CN or US, not “XX”. The previous value was kept. A contact that was not a list of values was not kept.'
		);
	});

	it("falls back to the server's sentence when the frame has no problems", () => {
		expect(notKeptMessage({ reason: 'Part of this change was not kept: notes hold text only.' }, () => undefined, 'en')).toBe(
			'The server did not keep part of your last change. notes hold text only.'
		);
	});

	it('says in English what the server says, for stock clients', () => {
		expect(refusal.problems.map(describeProblem)).toEqual([
			'fields.country: Use a two-letter ISO country code such as CN or US, not “XX”. The previous value was kept.',
			'contacts: each entry must be a map of values; an entry of another kind was not kept.'
		]);
	});
});
