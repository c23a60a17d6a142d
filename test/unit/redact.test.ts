import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MASK_CHAR, containsCardNumber, maskPan, redactCardNumbers, redactJson, redactJsonText, redactUrlPath, visibleDigits,
} from '../../src/core/redact.js';

const FC = { numRuns: 500, seed: 20261130 } as const;

/** The textbook Luhn, independent of the detector's incremental one. */
function referenceLuhn(digits: string): boolean {
  const sum = [...digits].reverse().map(Number).reduce((acc, d, i) => acc + (i % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0);
  return sum % 10 === 0;
}

function withCheckDigit(payload: string): string {
  for (let d = 0; d <= 9; d++) if (referenceLuhn(payload + d)) return payload + d;
  throw new Error('unreachable');
}

/** True when some 12–19 digit window of the string is Luhn-valid: what the detector must find. */
function anyLuhnWindow(digits: string): boolean {
  for (let start = 0; start < digits.length; start++) {
    for (let length = 12; length <= 19 && start + length <= digits.length; length++) {
      if (digits[start] !== '0' && referenceLuhn(digits.slice(start, start + length))) return true;
    }
  }
  return false;
}

const digitString = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });

/** Prefixes of every brand paylog knows (src/core/card.ts, credit-card-type) and the lengths it issues, plus unknown ranges. */
const BRANDS: readonly [string, number[]][] = [
  ['4', [13, 16, 19]], ['51', [16]], ['55', [16]], ['2221', [16]], ['2720', [16]], ['34', [15]], ['37', [15]],
  ['6011', [16, 19]], ['65', [16, 19]], ['3528', [16, 19]], ['3589', [16]], ['36', [14, 16, 19]], ['300', [14]],
  ['62', [16, 17, 18, 19]], ['81', [16]], ['6759', [12, 13, 16, 19]], ['50', [12, 15, 19]], ['63', [12, 16]], ['2200', [16]],
  ['9', [12, 14, 18]], ['1', [15]], ['7', [16]],
];
const pan = fc.constantFrom(...BRANDS)
  .chain(([prefix, lengths]) => fc.tuple(fc.constant(prefix), fc.constantFrom(...lengths), digitString(18, 18)))
  .map(([prefix, length, rest]) => withCheckDigit((prefix + rest).slice(0, length - 1)));

/** Separators a card number may be written with: anything but letters and digits, repeated or mixed. */
const SEPARATORS = [' ', '-', '.', '/', '_', '  ', ' - ', '--', '\t', '\n', ',', ':', '|', '+', '*', '#', '\\', '\u00a0', '–', '..', '/_'];
const separated = (digits: string) => digits.length < 2 ? fc.constant(digits) : fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 2, arbitrary: fc.constantFrom(...SEPARATORS) }), {
  minLength: digits.length - 1, maxLength: digits.length - 1,
}).map((gaps) => [...digits].map((d, i) => d + (gaps[i] ?? '')).join(''));

/**
 * What may be glued to either side: letters (at most six, so no glued hex word can reach the 32
 * digits of a digest exemption), other digits, punctuation, and free text after a space.
 */
const glued = fc.oneof(
  fc.constant(''),
  fc.string({ unit: fc.constantFrom(...'abcxyzKLMNOPqrs'), minLength: 1, maxLength: 6 }),
  digitString(1, 6),
  fc.constantFrom('(', ')', '"', "'", ':', '=', '#', '[', ']'),
);
const freeText = fc.oneof(fc.constant(''), fc.string({ maxLength: 30 }).map((t) => `${t} `), fc.lorem({ maxCount: 5 }).map((t) => `${t} `));

/** A card number written in text: the digits at the given positions of text are the PAN's. */
interface Placed { pan: string; text: string; positions: number[] }
const placed = fc.tuple(pan, freeText, glued, glued, freeText).chain(([number, before, left, right, after]) =>
  separated(number).map((written): Placed => {
    const prefix = before + left;
    const positions: number[] = [];
    for (let i = 0; i < written.length; i++) if (written[i]! >= '0' && written[i]! <= '9') positions.push(prefix.length + i);
    return { pan: number, text: prefix + written + right + (after === '' ? '' : ` ${after}`), positions };
  }));

/**
 * The detector's exemptions are identifiers whose digits are not card numbers: an IPv4 address,
 * a UUID, a hex digest of 32 or more. The generators above can only produce the first (twelve
 * digits grouped by three with single dots, each group at most 255); such inputs are set aside.
 */
const isIpv4Shaped = (text: string): boolean => /(^|[^0-9A-Za-z.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![0-9A-Za-z.])/.test(text)
  && [...text.matchAll(/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/g)].some((m) => m[0].split('.').every((p) => Number(p) <= 255));

describe('visibleDigits / maskPan: BIN and last four at most, six hidden at least', () => {
  it.each([
    [12, 2, 4], [13, 3, 4], [14, 4, 4], [15, 5, 4], [16, 6, 4], [17, 6, 4], [18, 6, 4], [19, 6, 4],
  ])('%i digits show the first %i and the last %i', (length, leading, trailing) => {
    expect(visibleDigits(length)).toEqual({ leading, trailing });
  });

  it('never shows more than 6 + 4 digits and always hides at least six (or all of a shorter string)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 64 }), (length) => {
      const { leading, trailing } = visibleDigits(length);
      return leading <= 6 && trailing <= 4 && length - leading - trailing >= Math.min(6, length) && leading >= 0 && trailing >= 0;
    }), FC);
  });

  it('masks a 12-digit Maestro number down to its first two and last four', () => {
    expect(maskPan('675964982643')).toBe('67******2643');
    expect(maskPan('4242424242424242')).toBe('424242******4242');
    expect(maskPan('378282246310005')).toBe('37828******0005');
  });
});

describe('containsCardNumber', () => {
  it('finds the bypasses of issue 13', () => {
    for (const text of ['card4242424242424242', '4242.4242.4242.4242', '4242/4242/4242/4242', '4242_4242_4242_4242', 'order4242424242424242',
      '4242 - 4242 -- 4242 / 4242', 'x4242424242424242y', '00014000000000009995', '4242\n4242\n4242\n4242']) {
      expect(containsCardNumber(text), text).toBe(true);
    }
  });

  it('finds every Luhn-valid number of every length, with any separators, glued to anything', () => {
    fc.assert(fc.property(placed, ({ text }) => {
      fc.pre(!isIpv4Shaped(text));
      return containsCardNumber(text);
    }), FC);
  });

  it('lets through digits shorter than 12, however separated', () => {
    fc.assert(fc.property(digitString(0, 11).chain(separated), fc.string({ unit: fc.constantFrom(...'abc xyz'), maxLength: 10 }), (written, around) => {
      const text = `${around}${written}${around}`;
      return !containsCardNumber(text) && redactCardNumbers(text) === text;
    }), FC);
  });

  it('lets through digit runs of 12–16 in which no 12–19 window passes Luhn, unchanged', () => {
    fc.assert(fc.property(digitString(12, 16).filter((d) => !anyLuhnWindow(d)).chain(separated), (text) =>
      !containsCardNumber(text) && redactCardNumbers(text) === text), FC);
  });

  it('agrees with a reference on random digit runs (every window of the run is tried)', () => {
    fc.assert(fc.property(digitString(0, 40), fc.constantFrom('', ' ', '-'), (digits, sep) => {
      const text = [...digits].join(sep);
      return containsCardNumber(text) === anyLuhnWindow(digits);
    }), { ...FC, numRuns: 2000 });
  });

  it('is not fooled into a match by letters between digit groups', () => {
    expect(containsCardNumber('4242a4242a4242a4242')).toBe(false);
  });

  it('does not flag identifiers: UUIDs, hex digests, IPv4 addresses', () => {
    fc.assert(fc.property(fc.uuid(), (uuid) => !containsCardNumber(uuid) && !containsCardNumber(`order-${uuid}-2`)), { ...FC, numRuns: 5000 });
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 32 }), (bytes) => {
      const hex = Buffer.from(bytes).toString('hex');
      return !/[a-f]/.test(hex) || !containsCardNumber(`sha ${hex}`);
    }), { ...FC, numRuns: 5000 });
    fc.assert(fc.property(fc.ipV4(), (ip) => !containsCardNumber(`from ${ip}`)), FC);
    expect(containsCardNumber('192.168.100.123')).toBe(false);
  });

  it('still finds a card number written next to an identifier', () => {
    const uuid = '550e8400-e29b-41d4-a716-446655440000';
    expect(containsCardNumber(`${uuid} 4242424242424242`)).toBe(true);
    expect(containsCardNumber(`4242-4242-4242-4242-${uuid}`)).toBe(true);
    expect(containsCardNumber('4242424242424242.192.168.1.1')).toBe(true);
  });
});

describe('redactCardNumbers', () => {
  it('masks the bypasses of issue 13', () => {
    expect(redactCardNumbers('card4242424242424242')).toBe('card424242******4242');
    expect(redactCardNumbers('4242.4242.4242.4242')).toBe('4242.42**.****.4242');
    expect(redactCardNumbers('GET /v1/payments/4242424242424242')).toBe('GET /v1/payments/424242******4242');
    expect(redactCardNumbers('12: 675964982648')).toBe('12: 67******2648');
  });

  it('hides at least six of the digits of every card number, shows only some of its first six and last four, and changes nothing else', () => {
    fc.assert(fc.property(placed, ({ pan: number, text, positions }) => {
      fc.pre(!isIpv4Shaped(text));
      const out = redactCardNumbers(text);
      if (out.length !== text.length) return false;
      for (let i = 0; i < text.length; i++) {
        if (out[i] !== text[i] && !(out[i] === MASK_CHAR && /[0-9]/.test(text[i]!))) return false;
      }
      const hidden = positions.filter((p) => out[p] === MASK_CHAR).length;
      const shown = positions.map((p, k) => (out[p] === MASK_CHAR ? -1 : k)).filter((k) => k >= 0);
      return hidden >= 6 && shown.every((k) => k < 6 || k >= number.length - 4) && !out.includes(number);
    }), FC);
  });

  it('returns the very same string when there is nothing to mask', () => {
    const text = 'Order 1234 for 2 items, shipped 2026-11-30';
    expect(redactCardNumbers(text)).toBe(text);
  });
});

describe('redactJsonText (log lines)', () => {
  it('masks inside string literals exactly as redactCardNumbers masks the string', () => {
    fc.assert(fc.property(placed, fc.string({ unit: 'binary', maxLength: 20 }), ({ text }, noise) => {
      const value = `${noise}${text}`;
      return redactJsonText(JSON.stringify({ msg: value, n: 1 })) === JSON.stringify({ msg: redactCardNumbers(value), n: 1 });
    }), FC);
  });

  it('leaves numbers alone, so a line stays valid JSON and millisecond timestamps are kept', () => {
    const line = '{"level":30,"time":4242424242424242,"msg":"card 4242424242424242"}';
    expect(redactJsonText(line)).toBe('{"level":30,"time":4242424242424242,"msg":"card 424242******4242"}');
    expect(() => JSON.parse(redactJsonText(line))).not.toThrow();
  });

  it('treats JSON escapes as separators', () => {
    expect(redactJsonText(JSON.stringify({ v: '4242\n4242\t4242"4242' }))).toBe(JSON.stringify({ v: '4242\n42**\t****"4242' }));
  });
});

describe('redactJson (record data)', () => {
  it('masks every string, keys included, and keeps clean values as they are', () => {
    const clean = { a: 'order 1234', n: 4242424242424242, list: ['x', null, true] };
    expect(redactJson(clean)).toBe(clean);
    expect(redactJson({ '4242.4242.4242.4242': 1, nested: { list: ['card4242424242424242', 2] } }))
      .toEqual({ '4242.42**.****.4242': 1, nested: { list: ['card424242******4242', 2] } });
  });
});

describe('redactUrlPath', () => {
  it('drops the query string and masks the path, percent-escapes decoded', () => {
    expect(redactUrlPath('/v1/payments/4242424242424242?cvc=123')).toBe('/v1/payments/424242******4242');
    expect(redactUrlPath('/v1/payments/4242%204242%204242%204242')).toBe('/v1/payments/4242 42** **** 4242');
    expect(redactUrlPath('/v1/payments/%34242424242424242')).toBe('/v1/payments/424242******4242');
    expect(redactUrlPath('/v1/payments/%2534242424242424242')).toBe('/v1/payments/424242******4242');
    expect(redactUrlPath('/v1/payments/txn_01jdq2?x=4242424242424242')).toBe('/v1/payments/txn_01jdq2');
  });
});
