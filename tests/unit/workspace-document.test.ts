/**
 * The ids of a workspace's own documents are part of the stored format: every workspace's
 * definitions and shared views are kept under them. These are the ids the derivation gave
 * before it became one function; a change to it would orphan those documents.
 */
import { describe, expect, it } from 'vitest';
import { fieldsDocumentId } from '../../src/lib/model/fields.ts';
import { viewsDocumentId } from '../../src/lib/views/views.ts';
import { workspaceDocumentId } from '../../src/lib/model/workspace-document.ts';

describe('workspace document ids', () => {
	it('stay what existing workspaces have stored', () => {
		expect(fieldsDocumentId('default')).toBe('e65c6f3a-50bc-8144-a22e-28fe77431a4c');
		expect(viewsDocumentId('default')).toBe('9cb3d525-1dc7-88a7-b3eb-b4996aba6b6f');
		expect(fieldsDocumentId('工作区')).toBe('2563e836-ac85-80e0-a31d-b82afa1cd518');
		expect(viewsDocumentId('acme')).toBe('68f259fe-422b-829c-bd6c-407ab7e8d874');
	});

	it('are version-8 UUIDs, never a record\'s version 4, and differ by kind and workspace', () => {
		const ids = ['default', 'acme', '工作区'].flatMap((w) => [workspaceDocumentId('fields', w), workspaceDocumentId('views', w)]);
		for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		expect(new Set(ids).size).toBe(ids.length);
	});
});
