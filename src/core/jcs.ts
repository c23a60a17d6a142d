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
