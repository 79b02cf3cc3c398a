import { describe, expect, it } from 'vitest';
import { readConfig } from '../../server/config.ts';

describe('reading the configuration', () => {
	it('takes the Postgres pool size from DATABASE_POOL_SIZE, 10 when unset', () => {
		expect(readConfig({}).databasePoolSize).toBe(10);
		expect(readConfig({ DATABASE_POOL_SIZE: '4' }).databasePoolSize).toBe(4);
	});

	it('refuses a pool size that is not a whole number of 1 or more, saying what it got', () => {
		expect(() => readConfig({ DATABASE_POOL_SIZE: '0' })).toThrow('DATABASE_POOL_SIZE must be a whole number of 1 or more, not "0".');
		expect(() => readConfig({ DATABASE_POOL_SIZE: 'many' })).toThrow('DATABASE_POOL_SIZE must be a whole number of 1 or more, not "many".');
	});
});
