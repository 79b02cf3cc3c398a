/**
 * A workspace's own live documents (the field definitions, the shared views) live in
 * the document store like records: one per workspace, under an id derived from the
 * workspace, created on first use with its initial shape. Two instances may both find it
 * missing at once; the store's insert lets one win, and the other takes that one.
 */
import * as Y from 'yjs';
import type { DocumentStore } from './store/types.ts';
import { newDoc } from '../src/lib/model/record.ts';

/** Creates the document `documentId` of `workspace` with `initialise`'s content, unless it exists. */
export async function ensureWorkspaceDocument(store: DocumentStore, documentId: string, workspace: string, initialise: (doc: Y.Doc, workspace: string) => void): Promise<void> {
	if (await store.documentWorkspace(documentId)) return;
	const doc = newDoc();
	initialise(doc, workspace);
	try {
		await store.createDocument(documentId, workspace, Y.encodeStateAsUpdate(doc), null);
	} catch (error) {
		// Another instance created it meanwhile: that one is the document.
		if (!(await store.documentWorkspace(documentId))) throw error;
	} finally {
		doc.destroy();
	}
}
