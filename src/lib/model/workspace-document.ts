/**
 * The ids of a workspace's own documents (its field definitions, its shared views): each
 * a UUID derived from the workspace and the document's kind, version 8 ("custom"), so it
 * can never be a record's random version-4 id, and the same in the browser and on the
 * server without asking anyone. The derivation is part of the stored format: changing it
 * would orphan every workspace's existing documents.
 */

export type WorkspaceDocumentKind = 'fields' | 'views';

export function workspaceDocumentId(kind: WorkspaceDocumentKind, workspace: string): string {
	// Four 32-bit FNV-1a hashes with different seeds: 128 bits, deterministic, synchronous.
	const words = [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b].map((seed) => {
		let hash = seed >>> 0;
		for (const ch of `accord-${kind}:${workspace}`) {
			hash ^= ch.codePointAt(0)!;
			hash = Math.imul(hash, 0x01000193) >>> 0;
		}
		return hash.toString(16).padStart(8, '0');
	});
	const hex = words.join('').split('');
	hex[12] = '8';
	hex[16] = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
	const h = hex.join('');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
