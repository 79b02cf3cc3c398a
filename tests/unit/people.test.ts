/**
 * People's initials as avatars show them: Latin names by their first letters, Han names
 * by their last characters, one of them in a small avatar (two were barely legible there).
 */
import { describe, expect, it } from 'vitest';
import { initialsOf } from '../../src/lib/people.ts';

describe('initialsOf', () => {
	it('takes the first letters of the first two words of a Latin name, in either size', () => {
		expect(initialsOf('Alice Chen')).toBe('AC');
		expect(initialsOf('  carol   van der Berg ')).toBe('CV');
		expect(initialsOf('Madonna')).toBe('M');
		expect(initialsOf('Alice Chen', true)).toBe('AC');
	});

	it('takes the last two characters of a Han name, and only the last in a small avatar', () => {
		expect(initialsOf('王芳')).toBe('王芳');
		expect(initialsOf('欧阳明')).toBe('阳明');
		expect(initialsOf('王芳', true)).toBe('芳');
		expect(initialsOf('欧阳明', true)).toBe('明');
		// Characters beyond the basic plane are not split in half.
		expect(initialsOf('王𠀋', true)).toBe('𠀋');
	});
});
