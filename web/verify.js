// Checks a payment's receipt (GET /v1/payments/{id}/proof) in the browser, trusting nothing the
// server says: every record hash is recomputed (SHA-256 over 0x00 ‖ RFC 8785 JSON), every
// RFC 6962 audit path is walked up to the root a checkpoint note names, and that note's Ed25519
// signature is checked with WebCrypto against the verifier key the user gave.
// The same rules as src/core/{jcs,audit-record,merkle,signed-note,checkpoint}.ts, in plain
// browser JavaScript (the console is served as is, without a bundler).

const encoder = new TextEncoder();

/** RFC 8785 canonical JSON of a plain JSON value. */
export function canonicalJson(value) {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number in JSON');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const parts = [];
  for (const key of Object.keys(value).sort()) {
    if (value[key] === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(value[key])}`);
  }
  return `{${parts.join(',')}}`;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex) {
  if (typeof hex !== 'string' || !/^([0-9a-f]{2})*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function fromBase64(text) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

export const hashLeaf = (data) => sha256(concat(LEAF, data));
const hashChildren = (left, right) => sha256(concat(NODE, left, right));

/** hex SHA-256(0x00 ‖ JCS(record without hash)): the record's leaf hash. */
export async function recordLeafHash(record) {
  const body = { ...record };
  delete body.hash;
  return toHex(await hashLeaf(encoder.encode(canonicalJson(body))));
}

/** RFC 9162 §2.1.3.2: does the audit path lead from the leaf to the root? */
export async function verifyInclusion(index, size, leaf, proof, root) {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0 || p.length !== 32) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await hashChildren(p, r);
      if (fn % 2 !== 1) {
        do {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        } while (fn % 2 !== 1 && fn !== 0);
      }
    } else {
      r = await hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

const SIG_PREFIX = '\u2014 ';

/** A C2SP signed note: its text and signature lines; null when malformed. */
export function parseNote(note) {
  if (typeof note !== 'string' || !note.endsWith('\n')) return null;
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return null;
  const text = note.slice(0, split + 1);
  const signatures = [];
  for (const line of note.slice(split + 2, -1).split('\n')) {
    if (!line.startsWith(SIG_PREFIX)) return null;
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    const raw = space > 0 ? fromBase64(rest.slice(space + 1)) : null;
    if (raw === null || raw.length < 5) return null;
    signatures.push({ name: rest.slice(0, space), keyId: raw.slice(0, 4), signature: raw.slice(4) });
  }
  return { text, signatures };
}

/** origin, size and root (bytes) of a checkpoint's text, and its signing time if it has one. */
export function parseCheckpoint(text) {
  const lines = text.split('\n');
  if ((lines.length !== 4 && lines.length !== 5) || lines[lines.length - 1] !== '') return null;
  const root = fromBase64(lines[2]);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(lines[1]) || root === null || root.length !== 32) return null;
  const time = lines.length === 5 && lines[3].startsWith('time ') ? lines[3].slice(5) : null;
  return { origin: lines[0], size: Number(lines[1]), root, time };
}

/** `<name>+<hex key ID>+<base64(0x01 ‖ Ed25519 public key)>`, its key ID checked; null when malformed. */
export async function parseVerifierKey(text) {
  const parts = /^([\x21-\x2a\x2c-\x7e]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (!parts) return null;
  const raw = fromBase64(parts[3]);
  if (raw === null || raw.length !== 33 || raw[0] !== 0x01) return null;
  const keyId = (await sha256(concat(encoder.encode(`${parts[1]}\n`), raw))).slice(0, 4);
  if (toHex(keyId) !== parts[2]) return null;
  return { name: parts[1], keyId, publicKey: raw.slice(1) };
}

/** true / false, or null when this browser's WebCrypto has no Ed25519. */
async function ed25519Verify(publicKey, signature, message) {
  let key;
  try {
    key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return null;
  }
  try {
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
  } catch {
    return false;
  }
}

/** Whether a note carries a valid signature by the key: 'valid', 'invalid', 'unsigned' (no line by it) or 'unsupported'. */
async function noteSignedBy(note, key) {
  const line = note.signatures.find((s) => s.name === key.name && equalBytes(s.keyId, key.keyId));
  if (!line) return 'unsigned';
  if (line.signature.length !== 64) return 'invalid';
  const ok = await ed25519Verify(key.publicKey, line.signature, encoder.encode(note.text));
  return ok === null ? 'unsupported' : ok ? 'valid' : 'invalid';
}

const where = (record) => `record ${record.seq} of stream ${record.stream} (${record.type})`;

/**
 * Checks every entry of a receipt's pages. Returns
 * `{ status: 'verified' | 'failed' | 'unchecked', reason, records, checkpoints }`:
 * 'failed' names the first thing that does not hold; 'unchecked' means hashes and paths hold
 * but the signatures could not be checked (no verifier key given, or no Ed25519 here).
 */
export async function verifyReceipt(pages, verifierKeyText) {
  const entries = pages.flatMap((p) => p.proofs);
  const pending = pages.flatMap((p) => p.pending ?? []);
  const fail = (reason) => ({ status: 'failed', reason, records: entries.length });
  if (entries.length === 0) return fail('the server sent no proof for any record of this payment');
  const key = verifierKeyText ? await parseVerifierKey(verifierKeyText) : null;
  if (verifierKeyText && key === null) return fail('the journal verifier key is malformed (expected name+keyid+base64, as `paylog keys public` prints it)');
  const notes = new Map();
  let unsupported = false;
  let previous = null;
  for (const entry of entries) {
    const record = entry.record;
    const leaf = await recordLeafHash(record);
    if (leaf !== record.hash) return fail(`${where(record)} was changed after it was written: its contents hash to ${leaf.slice(0, 12)}…, not to its recorded hash ${String(record.hash).slice(0, 12)}…`);
    if (previous && previous.stream === record.stream && previous.seq + 1 === record.seq && record.prev !== previous.hash) {
      return fail(`${where(record)} does not link to the record before it (prev ≠ hash of record ${previous.seq})`);
    }
    previous = record;
    const note = parseNote(entry.checkpoint);
    const checkpoint = note && parseCheckpoint(note.text);
    if (!checkpoint) return fail(`the checkpoint for ${where(record)} is not a well-formed signed note`);
    if (checkpoint.origin !== `${record.journal}/${record.stream}`) return fail(`the checkpoint for ${where(record)} is for another log (${checkpoint.origin})`);
    if (checkpoint.size !== entry.treeSize || entry.leafIndex !== record.seq - 1) return fail(`the proof for ${where(record)} names a different position or tree size than its checkpoint`);
    const path = entry.proof.map(fromHex);
    if (path.some((p) => p === null) || !(await verifyInclusion(entry.leafIndex, entry.treeSize, fromHex(leaf), path, checkpoint.root))) {
      return fail(`the audit path of ${where(record)} does not lead to the root its checkpoint signs`);
    }
    if (key) {
      if (!notes.has(entry.checkpoint)) notes.set(entry.checkpoint, await noteSignedBy(note, key));
      const signed = notes.get(entry.checkpoint);
      if (signed === 'unsigned') return fail(`the checkpoint for ${where(record)} carries no signature by ${key.name}`);
      if (signed === 'invalid') return fail(`the signature of ${key.name} on the checkpoint for ${where(record)} is not valid`);
      if (signed === 'unsupported') unsupported = true;
    }
    if (entry.journalLeaf) {
      const journalNote = parseNote(entry.journalLeaf.checkpoint);
      const journalTree = journalNote && parseCheckpoint(journalNote.text);
      const journalPath = entry.journalLeaf.proof.map(fromHex);
      if (!journalTree || journalPath.some((p) => p === null)
        || !(await verifyInclusion(entry.journalLeaf.index, journalTree.size, await hashLeaf(encoder.encode(entry.checkpoint)), journalPath, journalTree.root))) {
        return fail(`the checkpoint for ${where(record)} is not in the journal tree where the receipt places it`);
      }
    }
  }
  const summary = { records: entries.length, pending: pending.length, checkpoints: new Set(entries.map((e) => e.checkpoint)).size };
  if (!key) return { status: 'unchecked', reason: 'hashes and audit paths hold, but no journal verifier key was given, so the checkpoint signatures were not checked', ...summary };
  if (unsupported) return { status: 'unchecked', reason: 'hashes and audit paths hold, but this browser cannot check Ed25519 signatures', ...summary };
  return { status: 'verified', reason: `${entries.length} records hash correctly and lead to checkpoints signed by ${key.name}`, ...summary };
}

/**
 * One checkpoint note on its own (the integrity page): what it says, and whether the journal's
 * key signed it: 'valid', 'invalid', 'unsigned', 'unsupported' or 'unchecked' (no key given).
 * Its time is the one a reader may trust, once the signature is valid.
 */
export async function checkNote(noteText, verifierKeyText) {
  const note = parseNote(noteText);
  const checkpoint = note && parseCheckpoint(note.text);
  if (!checkpoint) return { checkpoint: null, signature: 'invalid' };
  if (!verifierKeyText) return { checkpoint, signature: 'unchecked' };
  const key = await parseVerifierKey(verifierKeyText);
  return { checkpoint, signature: key === null ? 'unchecked' : await noteSignedBy(note, key) };
}
