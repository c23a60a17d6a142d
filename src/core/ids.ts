import { v7 as uuidv7 } from 'uuid';

export type IdPrefix = 'txn' | 'req' | 'key' | 'str';

/** TypeID's base32: Crockford's alphabet, lowercase. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** The UUID's bytes, reused: making an ID is synchronous. */
const uuid = new Uint8Array(16);

/**
 * A TypeID (prefix + 26 base32 chars of a UUIDv7). Time and randomness come in as
 * arguments so the core stays deterministic under test.
 *
 * The UUID's bytes come from the uuid package as before, and are written out in base32 here:
 * typeid-js's TypeID.fromUUID formats the UUID as text, parses it back and validates the prefix,
 * which made an ID cost 3 µs, several per payment. A property test holds the two to the same IDs.
 */
export function newId(prefix: IdPrefix, msecs: number, random: Uint8Array): string {
  if (random.length < 16) throw new RangeError('newId needs 16 random bytes');
  uuidv7({ msecs, random }, uuid);
  return `${prefix}_${base32(uuid)}`;
}

/** 128 bits as 26 characters, the first holding the top 3 bits (TypeID spec, "Encoding"). */
function base32(b: Uint8Array): string {
  const c = (i: number): string => ALPHABET.charAt(i);
  const at = (i: number): number => b[i] as number;
  return c((at(0) & 224) >> 5) + c(at(0) & 31) + c((at(1) & 248) >> 3) + c(((at(1) & 7) << 2) | ((at(2) & 192) >> 6))
    + c((at(2) & 62) >> 1) + c(((at(2) & 1) << 4) | ((at(3) & 240) >> 4)) + c(((at(3) & 15) << 1) | ((at(4) & 128) >> 7))
    + c((at(4) & 124) >> 2) + c(((at(4) & 3) << 3) | ((at(5) & 224) >> 5)) + c(at(5) & 31)
    + c((at(6) & 248) >> 3) + c(((at(6) & 7) << 2) | ((at(7) & 192) >> 6)) + c((at(7) & 62) >> 1)
    + c(((at(7) & 1) << 4) | ((at(8) & 240) >> 4)) + c(((at(8) & 15) << 1) | ((at(9) & 128) >> 7)) + c((at(9) & 124) >> 2)
    + c(((at(9) & 3) << 3) | ((at(10) & 224) >> 5)) + c(at(10) & 31)
    + c((at(11) & 248) >> 3) + c(((at(11) & 7) << 2) | ((at(12) & 192) >> 6)) + c((at(12) & 62) >> 1)
    + c(((at(12) & 1) << 4) | ((at(13) & 240) >> 4)) + c(((at(13) & 15) << 1) | ((at(14) & 128) >> 7)) + c((at(14) & 124) >> 2)
    + c(((at(14) & 3) << 3) | ((at(15) & 224) >> 5)) + c(at(15) & 31);
}

const TYPEID_SUFFIX = /^[0-7][0-9a-hjkmnp-tv-z]{25}$/;

export function isId(prefix: IdPrefix, value: string): boolean {
  return value.length === prefix.length + 27 && value.startsWith(`${prefix}_`) && TYPEID_SUFFIX.test(value.slice(prefix.length + 1));
}
