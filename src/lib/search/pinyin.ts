/**
 * Pinyin for the search tokens, through pinyin-pro (MIT, pure JavaScript, no
 * dependencies, maintained, with a dictionary of words so heteronyms are read in
 * context: 重庆 chongqing, 银行 yinhang; and a surname mode: 单 shan, 曾 zeng).
 * Imported by record.ts, so only code that tokenizes records loads the dictionary.
 */
import { pinyin } from 'pinyin-pro';
import { usePinyin } from './tokenize.ts';

/** Toneless syllables of a Han run, one per character (`张伟` → zhang, wei); `surname` reads the first as a surname. */
export function hanSyllables(han: string, surname: boolean): string[] {
	return pinyin(han, { toneType: 'none', type: 'array', v: true, surname: surname ? 'head' : 'off' });
}

usePinyin(hanSyllables);
