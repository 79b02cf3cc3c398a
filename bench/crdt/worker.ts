/**
 * The CRM workload in one CRDT library, in a process of its own (so memory is its
 * alone): create records with 15 fields, edit fields, type notes one keystroke at a
 * time (each edit its own transaction / change, as a person makes them), then encode
 * every document, load them back, and measure memory.
 *
 *   node --expose-gc --import tsx bench/crdt/worker.ts yjs|automerge workload '{"records":…}' <file>
 *   node --expose-gc --import tsx bench/crdt/worker.ts yjs|automerge load <file>
 *
 * The workload writes every encoded document to <file>; loading them runs in a fresh
 * process, so its memory is that of loaded documents only (WASM memory never shrinks).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import * as A from '@automerge/automerge';
import { BENCH_FIELDS, fieldValue, rng, typedChar, type FieldValue } from '../lib/workload.ts';
import { benchRecords } from '../servers/common.ts';

export interface CrdtParams {
	records: number;
	fieldEdits: number;
	/** Records whose notes are typed into, and keystrokes per record. */
	typedRecords: number;
	keystrokes: number;
}

export interface CrdtResult {
	library: string;
	version: string;
	documents: number;
	createMs: number;
	/** Time to create each successive 1,000 documents. */
	createChunksMs: number[];
	fieldEditsMs: number;
	typingMs: number;
	/** Bytes of one field edit and of one keystroke as sent to others (mean). */
	fieldEditBytes: number;
	keystrokeBytes: number;
	encodeMs: number;
	encodedBytes: number;
	/** Encoded size of the typed records alone (where history weighs). */
	typedRecordBytes: number;
	/** RSS growth with every document in memory after the workload, after GC. */
	rssAfterWorkload: number;
}

export interface CrdtLoadResult {
	loadMs: number;
	/** RSS growth of a fresh process holding every loaded document, after GC. */
	rss: number;
}

const gc = (): void => {
	for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
};
const settled = async (): Promise<{ rss: number; heap: number }> => {
	gc();
	await new Promise((resolve) => setTimeout(resolve, 100));
	gc();
	const usage = process.memoryUsage();
	return { rss: usage.rss, heap: usage.heapUsed + usage.arrayBuffers };
};

interface Library<D> {
	name: string;
	version: string;
	create(fields: Record<string, FieldValue>, notes: string): D;
	setField(doc: D, field: string, value: FieldValue): { doc: D; bytes: number };
	type(doc: D, char: string): { doc: D; bytes: number };
	save(doc: D): Uint8Array;
	load(bytes: Uint8Array): D;
	read(doc: D): unknown;
	free(doc: D): void;
}

const MODULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules');
const versionOf = (name: string): string => (JSON.parse(readFileSync(path.join(MODULES, name, 'package.json'), 'utf8')) as { version: string }).version;

const yjs: Library<Y.Doc> = {
	name: 'Yjs',
	version: versionOf('yjs'),
	create(fields, notes) {
		const doc = new Y.Doc();
		doc.transact(() => {
			const map = doc.getMap('fields');
			for (const [key, value] of Object.entries(fields)) map.set(key, value);
			doc.getText('notes').insert(0, notes);
		});
		return doc;
	},
	setField(doc, field, value) {
		let bytes = 0;
		const listener = (update: Uint8Array) => (bytes += update.byteLength);
		doc.on('update', listener);
		doc.getMap('fields').set(field, value);
		doc.off('update', listener);
		return { doc, bytes };
	},
	type(doc, char) {
		let bytes = 0;
		const listener = (update: Uint8Array) => (bytes += update.byteLength);
		doc.on('update', listener);
		const notes = doc.getText('notes');
		notes.insert(notes.length, char);
		doc.off('update', listener);
		return { doc, bytes };
	},
	save: (doc) => Y.encodeStateAsUpdate(doc),
	load(bytes) {
		const doc = new Y.Doc();
		Y.applyUpdate(doc, bytes);
		return doc;
	},
	read: (doc) => doc.getMap('fields').get('name'),
	free: (doc) => doc.destroy()
};

type AmDoc = A.Doc<{ fields: Record<string, FieldValue>; notes: string }>;

const automerge: Library<AmDoc> = {
	name: 'Automerge',
	version: versionOf('@automerge/automerge'),
	create(fields, notes) {
		return A.change(A.init<{ fields: Record<string, FieldValue>; notes: string }>(), (d) => {
			d.fields = { ...fields };
			d.notes = notes;
		});
	},
	setField(doc, field, value) {
		const next = A.change(doc, (d) => {
			d.fields[field] = value;
		});
		return { doc: next, bytes: A.getLastLocalChange(next)?.byteLength ?? 0 };
	},
	type(doc, char) {
		const next = A.change(doc, (d) => {
			A.splice(d, ['notes'], d.notes.length, 0, char);
		});
		return { doc: next, bytes: A.getLastLocalChange(next)?.byteLength ?? 0 };
	},
	save: (doc) => A.save(doc),
	load: (bytes) => A.load(bytes),
	read: (doc) => doc.fields.name,
	free: (doc) => A.free(doc)
};

async function workload<D>(lib: Library<D>, params: CrdtParams, file: string): Promise<CrdtResult> {
	const source = benchRecords(params.records).map((r) => ({ fields: pickFields(r.fields as Record<string, FieldValue>), notes: r.notes ?? '' }));
	const base = await settled();

	let started = performance.now();
	// Timed per 1,000 documents too: does creating one get slower as more are alive?
	const createChunksMs: number[] = [];
	let chunkStarted = started;
	const docs = source.map((r, i) => {
		const doc = lib.create(r.fields, r.notes);
		if ((i + 1) % 1_000 === 0) {
			const now = performance.now();
			createChunksMs.push(now - chunkStarted);
			chunkStarted = now;
		}
		return doc;
	});
	const createMs = performance.now() - started;

	const random = rng(42);
	started = performance.now();
	let fieldBytes = 0;
	for (let i = 0; i < params.fieldEdits; i++) {
		const index = Math.floor(random() * docs.length);
		const field = BENCH_FIELDS[Math.floor(random() * BENCH_FIELDS.length)];
		const { doc, bytes } = lib.setField(docs[index], field, fieldValue(field, random, i));
		docs[index] = doc;
		fieldBytes += bytes;
	}
	const fieldEditsMs = performance.now() - started;

	started = performance.now();
	let typedBytes = 0;
	for (let r = 0; r < params.typedRecords; r++) {
		let doc = docs[r];
		for (let k = 0; k < params.keystrokes; k++) {
			const typed = lib.type(doc, typedChar(k));
			doc = typed.doc;
			typedBytes += typed.bytes;
		}
		docs[r] = doc;
	}
	const typingMs = performance.now() - started;
	const afterWorkload = await settled();

	started = performance.now();
	const saved = docs.map((doc) => lib.save(doc));
	const encodeMs = performance.now() - started;
	const encodedBytes = saved.reduce((a, b) => a + b.byteLength, 0);
	const typedRecordBytes = saved.slice(0, params.typedRecords).reduce((a, b) => a + b.byteLength, 0);

	writeFileSync(file, pack(saved));
	return {
		library: lib.name,
		version: lib.version,
		documents: docs.length,
		createMs,
		createChunksMs,
		fieldEditsMs,
		typingMs,
		fieldEditBytes: fieldBytes / Math.max(1, params.fieldEdits),
		keystrokeBytes: typedBytes / Math.max(1, params.typedRecords * params.keystrokes),
		encodeMs,
		encodedBytes,
		typedRecordBytes,
		rssAfterWorkload: afterWorkload.rss - base.rss
	};
}

async function load<D>(lib: Library<D>, file: string): Promise<CrdtLoadResult> {
	const saved = unpack(readFileSync(file));
	const base = await settled();
	const started = performance.now();
	const loaded = saved.map((bytes) => lib.load(bytes));
	for (const doc of loaded) lib.read(doc);
	const loadMs = performance.now() - started;
	const after = await settled();
	const result = { loadMs, rss: after.rss - base.rss };
	if (loaded.length === 0) throw new Error('nothing loaded');
	return result;
}

function pack(blobs: Uint8Array[]): Buffer {
	const parts: Buffer[] = [];
	for (const blob of blobs) {
		const length = Buffer.alloc(4);
		length.writeUInt32LE(blob.byteLength);
		parts.push(length, Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
	}
	return Buffer.concat(parts);
}

function unpack(buffer: Buffer): Uint8Array[] {
	const blobs: Uint8Array[] = [];
	for (let offset = 0; offset < buffer.length; ) {
		const length = buffer.readUInt32LE(offset);
		blobs.push(new Uint8Array(buffer.subarray(offset + 4, offset + 4 + length)));
		offset += 4 + length;
	}
	return blobs;
}

/** The 15 benchmark fields, filling any the demo record lacks. */
function pickFields(fields: Record<string, FieldValue>): Record<string, FieldValue> {
	const random = rng(7);
	const out: Record<string, FieldValue> = {};
	for (const key of BENCH_FIELDS) out[key] = fields[key] ?? fieldValue(key, random, 0);
	return out;
}

const [library, mode, ...rest] = process.argv.slice(2);
const lib = (library === 'automerge' ? automerge : yjs) as Library<unknown>;
const result = mode === 'load' ? await load(lib, rest[0]) : await workload(lib, JSON.parse(rest[0]) as CrdtParams, rest[1]);
process.send?.(result, () => process.exit(0));
