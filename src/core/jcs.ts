/**
 * RFC 8785 JSON Canonicalization Scheme for plain JSON values: object keys sorted by UTF-16
 * code units, no whitespace, strings and numbers as ECMAScript's JSON.stringify writes them.
 *
 * Written out instead of using json-canonicalize on the hot path: that package tracks paths
 * and cycles for every value, which made hashing records the largest cost of a payment after
 * the database. Output is identical to json-canonicalize's `canonicalize` for JSON values
 * (a property test holds the two together): undefined object members are left out, undefined
 * array elements become null, a non-finite number is an error.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new Error(`Non-finite number (${value}) is not permitted in JSON (RFC 8785 §3.2.2.3)`);
    }
    return JSON.stringify(value);
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(value);
  // What paylog builds itself (records, payment data) has its keys in order: V8's own
  // JSON.stringify then writes the canonical form, about twice as fast as writing it here.
  if (isSortedPlain(value)) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const element: unknown = value[i];
      out += canonicalJson(element === undefined ? null : element);
    }
    return `${out}]`;
  }
  return canonicalObject(value as Record<string, unknown>, undefined);
}

/** The canonical form of an object without one of its members (a record without its hash), without copying it. */
export function canonicalJsonWithout(object: Record<string, unknown>, omit: string): string {
  return canonicalObject(object, omit);
}

function canonicalObject(object: Record<string, unknown>, omit: string | undefined): string {
  const keys = Object.keys(object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = object[key];
    if (member === undefined || key === omit) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/** Depth beyond which the check gives up and leaves the value to the written-out path. */
const SORTED_DEPTH_MAX = 32;

/**
 * True when JSON.stringify(value) is its JCS form: plain JSON values only, every object's keys
 * in ascending UTF-16 order (as Object.keys lists them, which is JSON.stringify's order), no
 * non-finite number (JSON.stringify writes null, JCS refuses), no undefined, no toJSON.
 */
export function isSortedPlain(value: object, depth = 0): boolean {
  if (depth > SORTED_DEPTH_MAX) return false;
  if (Array.isArray(value)) {
    for (const element of value as unknown[]) if (!plainMember(element, depth)) return false;
    return true;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    // `__proto__` read as a member may give the prototype, not an own value: leave such objects to the written-out path.
    if ((i > 0 && !((keys[i - 1] as string) < key)) || key === '__proto__') return false;
    if (!plainMember((value as Record<string, unknown>)[key], depth)) return false;
  }
  return true;
}

/** True when JSON.stringify(v) is its JCS form: a string, boolean, finite number or null, or a value isSortedPlain accepts. */
export function plainMember(v: unknown, depth = 0): boolean {
  switch (typeof v) {
    case 'string': case 'boolean': return true;
    case 'number': return Number.isFinite(v);
    case 'object': return v === null || isSortedPlain(v, depth + 1);
    default: return false;
  }
}
