import { TypeID } from 'typeid-js';
import { v7 as uuidv7 } from 'uuid';

export type IdPrefix = 'txn' | 'req' | 'key' | 'str';

/**
 * A TypeID (prefix + 26 base32 chars of a UUIDv7). Time and randomness come in as
 * arguments so the core stays deterministic under test.
 */
export function newId(prefix: IdPrefix, msecs: number, random: Uint8Array): string {
  if (random.length < 16) throw new RangeError('newId needs 16 random bytes');
  return TypeID.fromUUID(prefix, uuidv7({ msecs, random })).toString();
}

const TYPEID_SUFFIX = /^[0-7][0-9a-hjkmnp-tv-z]{25}$/;

export function isId(prefix: IdPrefix, value: string): boolean {
  return value.length === prefix.length + 27 && value.startsWith(`${prefix}_`) && TYPEID_SUFFIX.test(value.slice(prefix.length + 1));
}
