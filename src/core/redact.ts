/**
 * The one card-number detector, and the masking every sink applies before anything is logged,
 * recorded, mirrored or echoed (docs/compliance.md, "Masking and redaction").
 *
 * What counts as a card number: any 12–19 consecutive digits of a run that pass the Luhn check
 * and do not start with 0.
 * A run is digits separated by anything but ASCII letters: spaces, dashes, dots, slashes,
 * underscores, any other punctuation, repeated or mixed ("4242.4242 / 4242_4242"). Letters end a
 * run but do not hide it ("card4242424242424242"). Every 12–19 digit window of a run is tested,
 * so other digits around a card number ("0001 4242…") do not hide it either.
 *
 * No brand check: a sink must not leak a number just because its range is unknown to us. The
 * price is that about one in ten long digit runs (dates written as digits, phone lists) is masked
 * or refused, which is the side to err on.
 *
 * Hot path: this runs over every log line and every free-text field, so it is one pass of
 * charCodeAt over the text, allocation-free while nothing is found (the usual case), plus at
 * most 19 Luhn steps per digit of a run that reaches 12 digits.
 */

export const PAN_DIGITS_MIN = 12;
export const PAN_DIGITS_MAX = 19;
/** Digits shown at most: the BIN (6) in front, the last four at the end (PCI DSS v4.0 3.4.1). */
export const MASK_LEADING_MAX = 6;
export const MASK_TRAILING_MAX = 4;
/** Digits hidden at least, whatever the length: a short number shows fewer leading digits. */
export const MASK_HIDDEN_MIN = 6;
/** What a hidden digit is replaced with. */
export const MASK_CHAR = '*';

/** How many leading and trailing digits a number of this many digits may show. */
export function visibleDigits(length: number): { leading: number; trailing: number } {
  const trailing = Math.max(0, Math.min(MASK_TRAILING_MAX, length - MASK_HIDDEN_MIN));
  const leading = Math.max(0, Math.min(MASK_LEADING_MAX, length - trailing - MASK_HIDDEN_MIN));
  return { leading, trailing };
}

/** A card number as it may be shown: its hidden digits replaced by MASK_CHAR. */
export function maskPan(digits: string): string {
  const { leading, trailing } = visibleDigits(digits.length);
  return digits.slice(0, leading) + MASK_CHAR.repeat(digits.length - leading - trailing) + (trailing > 0 ? digits.slice(-trailing) : '');
}

/** Doubled Luhn digit: 0→0, 1→2, …, 5→1, …, 9→9. */
const DOUBLED = Uint8Array.from([0, 2, 4, 6, 8, 1, 3, 5, 7, 9]);
const LOOKBACK = PAN_DIGITS_MAX;
/** A hex word at least this long, with a letter in it, is a digest (MD5 and up), not a card number. */
const HEX_DIGEST_MIN = 32;
const UUID_GROUPS = [8, 4, 4, 4, 12] as const;

/**
 * Scan state, reused between calls (JavaScript runs one call at a time): the positions and
 * values of the current run's last LOOKBACK digits, as a ring, so the buffers stay small
 * whatever the length of the text.
 */
const ringPos = new Int32Array(LOOKBACK);
const ringDigit = new Uint8Array(LOOKBACK);

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAsciiLetter = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
const isHexLetter = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66;
const isWordChar = (c: number): boolean => isDigit(c) || isAsciiLetter(c);

/**
 * Where the identifier starting at i ends, or -1 when there is none: an IPv4 address, a UUID
 * (8-4-4-4-12 hex) or a hex digest (32 or more hex digits, at least one of them a letter).
 * None may be glued to other letters or digits. Their digits are not card numbers:
 * without this rule one random UUID in 80, one SHA-256 in 40 and one address like
 * 192.168.100.123 in ten hold a Luhn-valid window of 12–19 digits, and would be refused or
 * masked. Fails fast: most words are out at their first character that is not hex.
 */
function identifierEnd(text: string, i: number, to: number): number {
  if (isDigit(text.charCodeAt(i))) {
    const end = ipv4End(text, i, to);
    if (end !== -1) return end;
  }
  let j = i;
  let letter = false;
  for (let group = 0; group < UUID_GROUPS.length; group++) {
    const groupStart = j;
    for (; j < to; j++) {
      const c = text.charCodeAt(j);
      if (isHexLetter(c)) letter = true;
      else if (!isDigit(c)) break;
    }
    const length = j - groupStart;
    if (group === 0 && length >= HEX_DIGEST_MIN) return letter && (j === to || !isWordChar(text.charCodeAt(j))) ? j : -1;
    if (length !== UUID_GROUPS[group]) return -1;
    if (group < UUID_GROUPS.length - 1) {
      if (text.charCodeAt(j) !== 0x2d) return -1;
      j++;
    }
  }
  return j === to || !isWordChar(text.charCodeAt(j)) ? j : -1;
}

/** Where the dotted IPv4 address starting at i ends (four numbers 0–255), or -1. */
function ipv4End(text: string, i: number, to: number): number {
  let j = i;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (text.charCodeAt(j) !== 0x2e) return -1;
      j++;
    }
    let value = 0;
    const start = j;
    while (j < to && j - start < 4 && isDigit(text.charCodeAt(j))) value = value * 10 + text.charCodeAt(j++) - 0x30;
    if (j === start || j - start > 3 || value > 255) return -1;
  }
  return j === to || (!isWordChar(text.charCodeAt(j)) && text.charCodeAt(j) !== 0x2e) ? j : -1;
}

/**
 * Scans text[from, to) for card numbers. With finds, pushes each one (see endsCardNumber) and returns
 * true when anything was found; without, returns at the first. With json, the range is the
 * inside of a JSON string literal: an escape (\n, \", \u0041) is a separator, so "4242\n4242…"
 * as written in a log line is still one run.
 */
function scan(text: string, from: number, to: number, json: boolean, finds: number[] | null): boolean {
  let found = false;
  let runLength = 0;
  let prevWord = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    const word = isWordChar(c);
    if (word && !prevWord && (isDigit(c) || isHexLetter(c))) {
      const end = identifierEnd(text, i, to);
      if (end !== -1) {
        runLength = 0;
        prevWord = false;
        i = end - 1;
        continue;
      }
    }
    prevWord = word;
    if (isDigit(c)) {
      const slot = runLength % LOOKBACK;
      ringPos[slot] = i;
      ringDigit[slot] = c - 0x30;
      runLength++;
      if (runLength >= PAN_DIGITS_MIN && endsCardNumber(runLength, finds)) {
        if (!finds) return true;
        found = true;
      }
    } else if (json && c === 0x5c) {
      // An escape: \uXXXX is six characters, any other two; both act as a separator.
      i += text.charCodeAt(i + 1) === 0x75 ? 5 : 1;
      prevWord = false;
    } else if (word) {
      runLength = 0;
    }
  }
  return found;
}

/**
 * Luhn over every window of 12–19 digits that ends at the run's newest digit and does not
 * start with 0 (no card number does: ISO/IEC 7812 gives 0 to no card industry; and twelve
 * zeros pass Luhn). With finds,
 * pushes the longest window found as four numbers: the positions of its first and last digit,
 * and of the first and last digit its mask hides.
 */
function endsCardNumber(runLength: number, finds: number[] | null): boolean {
  let sum = 0;
  let longest = 0;
  const maxLength = Math.min(runLength, PAN_DIGITS_MAX);
  for (let length = 1; length <= maxLength; length++) {
    const digit = ringDigit[(runLength - length) % LOOKBACK] as number;
    sum += length % 2 === 0 ? (DOUBLED[digit] as number) : digit;
    if (length >= PAN_DIGITS_MIN && sum % 10 === 0 && digit !== 0) {
      if (!finds) return true;
      longest = length;
    }
  }
  if (longest === 0) return false;
  const { leading, trailing } = visibleDigits(longest);
  const at = (fromEnd: number): number => ringPos[(runLength - 1 - fromEnd) % LOOKBACK] as number;
  finds?.push(at(longest - 1), at(0), at(longest - 1 - leading), at(trailing));
  return true;
}

/**
 * Marks the digits to hide. A find that lies inside another is left to the outer one, whose
 * mask always hides at least six of its digits and shows no more than its first six and last
 * four; overlapping finds hide the union, so neither shows more than its own mask allows.
 */
function hiddenDigits(text: string, finds: number[], json: boolean): Uint8Array {
  const order: number[] = [];
  for (let f = 0; f < finds.length; f += 4) order.push(f);
  order.sort((a, b) => (finds[a] as number) - (finds[b] as number) || (finds[b + 1] as number) - (finds[a + 1] as number));
  const hide = new Uint8Array(text.length);
  let outerEnd = -1;
  for (const f of order) {
    const end = finds[f + 1] as number;
    if (end <= outerEnd) continue;
    outerEnd = end;
    for (let i = finds[f + 2] as number; i <= (finds[f + 3] as number); i++) {
      const c = text.charCodeAt(i);
      if (isDigit(c)) hide[i] = 1;
      else if (json && c === 0x5c) i += text.charCodeAt(i + 1) === 0x75 ? 5 : 1;
    }
  }
  return hide;
}

/** True when the text holds anything that could be a card number (see the top of this file). */
export function containsCardNumber(text: string): boolean {
  // Shorter text cannot hold a run of PAN_DIGITS_MIN digits: most keys and values of a record.
  return text.length >= PAN_DIGITS_MIN && scan(text, 0, text.length, false, null);
}

function applyMask(text: string, hide: Uint8Array): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < hide.length; i++) {
    if (hide[i] === 1) {
      out += text.slice(copied, i) + MASK_CHAR;
      copied = i + 1;
    }
  }
  return out + text.slice(copied);
}

/**
 * The text with every digit that could belong to a card number masked (BIN and last four at
 * most, six digits hidden at least). Returns the same string when nothing was found.
 */
export function redactCardNumbers(text: string): string {
  if (!containsCardNumber(text)) return text;
  const finds: number[] = [];
  scan(text, 0, text.length, false, finds);
  return applyMask(text, hiddenDigits(text, finds, false));
}

/**
 * A serialized JSON text (a log line) with card numbers masked inside its string literals.
 * Numbers and structure are left alone, so the line stays valid JSON and a timestamp in
 * milliseconds is never mistaken for a card. Returns the same string when nothing was found.
 */
export function redactJsonText(json: string): string {
  let finds: number[] | null = null;
  for (let i = 0; i < json.length; i++) {
    if (json.charCodeAt(i) !== 0x22) continue;
    const start = i + 1;
    let end = start;
    while (end < json.length) {
      const c = json.charCodeAt(end);
      if (c === 0x22) break;
      end += c === 0x5c ? 2 : 1;
    }
    end = Math.min(end, json.length);
    if (end - start >= PAN_DIGITS_MIN && scan(json, start, end, true, null)) scan(json, start, end, true, (finds ??= []));
    i = end;
  }
  return finds ? applyMask(json, hiddenDigits(json, finds, true)) : json;
}

/** Values of the JSON data model, as records and log objects hold them. */
export type Redactable = string | number | boolean | null | readonly Redactable[] | { readonly [key: string]: Redactable };

/**
 * Every string in a JSON value, keys included, with card numbers masked. Returns the same
 * object when nothing was found, so clean data costs no copy.
 */
export function redactJson<T extends Redactable>(value: T): T {
  if (typeof value === 'string') return redactCardNumbers(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: Redactable[] | null = null;
    value.forEach((item: Redactable, i: number) => {
      const clean = redactJson(item);
      if (clean !== item) (out ??= [...value])[i] = clean;
    });
    return (out ?? value) as T;
  }
  let out: Record<string, Redactable> | null = null;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, Redactable>)[key] as Redactable;
    const cleanKey = redactCardNumbers(key);
    const clean = redactJson(item);
    if (cleanKey !== key || clean !== item) {
      out ??= { ...(value as Record<string, Redactable>) };
      if (cleanKey !== key) delete out[key];
      out[cleanKey] = clean;
    }
  }
  return (out ?? value) as T;
}

/**
 * A URL path as it may be shown: without its query string, percent-escapes decoded (up to
 * three times, so "%2534" is a "4" too; a malformed escape is left as it is) and card numbers
 * masked. For logs, records and error messages: the raw URL is never echoed.
 */
export function redactUrlPath(url: string): string {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  for (let round = 0; round < 3 && path.includes('%'); round++) {
    const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded === path) break;
    path = decoded;
  }
  return redactCardNumbers(path);
}
