/**
 * Encoding detection of imported files (src/lib/io/encoding.ts) on real bytes: the GBK
 * and Big5 fixture files (written once by Python's codecs), UTF-16 with and without a
 * BOM, UTF-8 with and without one, and a sample cut in the middle of a character.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectEncoding, parseEncodingName } from '../../src/lib/io/encoding.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(path.resolve(import.meta.dirname, '../fixtures/import', name)));

describe('detectEncoding', () => {
	it('reads byte-order marks first', () => {
		expect(detectEncoding(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), true)).toEqual({ encoding: 'utf-8', reason: 'bom', bomLength: 3 });
		expect(detectEncoding(new Uint8Array([0xff, 0xfe, 0x61, 0]), true)).toEqual({ encoding: 'utf-16le', reason: 'bom', bomLength: 2 });
		expect(detectEncoding(new Uint8Array([0xfe, 0xff, 0, 0x61]), true)).toEqual({ encoding: 'utf-16be', reason: 'bom', bomLength: 2 });
	});

	it('takes valid UTF-8 as UTF-8, even when the sample ends inside a character', () => {
		const bytes = new TextEncoder().encode('姓名,公司\n王伟,华信\n');
		expect(detectEncoding(bytes, true).encoding).toBe('utf-8');
		expect(detectEncoding(bytes.subarray(0, bytes.length - 3), false)).toMatchObject({ encoding: 'utf-8', reason: 'utf8-valid' });
		// Cut mid-character as a complete file: not valid UTF-8 any more.
		expect(detectEncoding(bytes.subarray(0, 4), true).encoding).not.toBe('utf-8');
	});

	it('tells GBK from Big5 by which reads as common Chinese', () => {
		expect(detectEncoding(fixture('customers-gbk.csv'), true)).toMatchObject({ encoding: 'gb18030', reason: 'guess' });
		expect(detectEncoding(fixture('customers-big5.csv'), true)).toMatchObject({ encoding: 'big5', reason: 'guess' });
		expect(new TextDecoder('gb18030').decode(fixture('customers-gbk.csv'))).toContain('华信科技有限公司');
	});

	it('finds UTF-16 without a BOM from its zero bytes', () => {
		expect(detectEncoding(new Uint8Array(Buffer.from('name,company\nLi,Huaxin\n', 'utf16le')), true)).toMatchObject({ encoding: 'utf-16le', reason: 'utf16-zeros' });
		const be = Buffer.from('name,company\n', 'utf16le').swap16();
		expect(detectEncoding(new Uint8Array(be), true).encoding).toBe('utf-16be');
	});

	it('lets the person override, still skipping that encoding\'s BOM', () => {
		expect(detectEncoding(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), true, 'utf-8')).toEqual({ encoding: 'utf-8', reason: 'override', bomLength: 3 });
		expect(detectEncoding(fixture('customers-gbk.csv'), true, 'big5')).toMatchObject({ encoding: 'big5', reason: 'override', bomLength: 0 });
	});

	it('reads the names people use for encodings', () => {
		expect(parseEncodingName('GBK')).toBe('gb18030');
		expect(parseEncodingName('cp936')).toBe('gb18030');
		expect(parseEncodingName('UTF8')).toBe('utf-8');
		expect(parseEncodingName('Big5-HKSCS')).toBe('big5');
		expect(parseEncodingName('ebcdic')).toBeNull();
	});
});
