/**
 * Reading the validator's results in tests (src/lib/model/validate.ts answers
 * `{ ok, value }` or `{ ok: false, code, message }`): one pair of helpers for every test
 * file that checks validation, so they all hold a refusal to the same standard.
 */
import { expect } from 'vitest';

/** The value of a successful result; fails the test with the message otherwise. */
export function value<T>(result: { ok: true; value: T } | { ok: false; message: string }): T {
	if (!result.ok) throw new Error(`expected ok, got: ${result.message}`);
	return result.value;
}

/** Asserts a refusal with this code and a message a person can read; returns the message. */
export function refused(result: { ok: boolean; code?: string; message?: string }, code: string): string {
	expect(result.ok).toBe(false);
	expect(result.code).toBe(code);
	expect(result.message).toEqual(expect.any(String));
	expect(result.message!.length).toBeGreaterThan(10);
	return result.message!;
}
