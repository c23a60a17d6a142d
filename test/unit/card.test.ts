import creditCardType from 'credit-card-type';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CardDetails, cardBrand, cardTypes, cardFingerprint, containsCardNumber, cvcLength, isExpired, luhnValid, maskCard,
} from '../../src/core/card.js';
import { visibleDigits } from '../../src/core/redact.js';

const FC = { numRuns: 200, seed: 20261126 } as const;

/** Every number of SPEC §2's test-card table. */
const SPEC_CARDS = [
  '4242424242424242', '5555555555554444', '2223003122003222', '378282246310005', '6011111111111117',
  '3566002020360505', '36227206271667', '6200000000000005',
  '4000000000000002', '4000000000009995', '4000000000009987', '4000000000009979', '4000000000000069',
  '4000000000000127', '4000000000000119', '4100000000000019', '4242424242424241',
  '4000000005030004', '4000000005039997', '4000000004290005', '4000000005000007',
  '4000000004080000', '4000000004089993', '4000000005020005',
];
const FAILS_LUHN = '4242424242424241';

const APPROVING: [string, string][] = [
  ['4242424242424242', 'visa'],
  ['5555555555554444', 'mastercard'],
  ['2223003122003222', 'mastercard'],
  ['378282246310005', 'amex'],
  ['6011111111111117', 'discover'],
  ['3566002020360505', 'jcb'],
  ['36227206271667', 'diners'],
  ['6200000000000005', 'unionpay'],
];

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 8);

/** The textbook Luhn: from the right, double every second digit, subtract 9 above 9, sum mod 10. */
function referenceLuhn(number: string): boolean {
  if (!/^[0-9]+$/.test(number)) return false;
  const digits = [...number].reverse().map(Number);
  const sum = digits.reduce((acc, d, i) => acc + (i % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0);
  return sum % 10 === 0;
}

/** Appends the Luhn check digit to a digit string. */
function withCheckDigit(payload: string): string {
  for (let d = 0; d <= 9; d++) if (referenceLuhn(payload + d)) return payload + d;
  throw new Error('unreachable');
}

const digitString = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });

function card(number: string, cvc = '987'): CardDetails {
  return { number, expMonth: 12, expYear: 2030, cvc };
}

describe('luhnValid', () => {
  it.each(SPEC_CARDS.filter((n) => n !== FAILS_LUHN))('passes SPEC card %s', (number) => {
    expect(luhnValid(number)).toBe(true);
  });

  it(`fails ${FAILS_LUHN}`, () => {
    expect(luhnValid(FAILS_LUHN)).toBe(false);
  });

  it('fails single-digit changes of a valid number', () => {
    expect(luhnValid('4242424242424243')).toBe(false);
    expect(luhnValid('5555555555554445')).toBe(false);
  });

  it('rejects empty input and non-digits', () => {
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('4242 4242 4242 4242')).toBe(false);
    expect(luhnValid('4242-4242-4242-4242')).toBe(false);
    expect(luhnValid('42424242424242a2')).toBe(false);
  });

  it('agrees with a reference implementation on random digit strings', () => {
    fc.assert(fc.property(digitString(1, 25), (number) => luhnValid(number) === referenceLuhn(number)), FC);
  });

  it('agrees with a reference implementation on strings that are not all digits', () => {
    fc.assert(fc.property(fc.string({ maxLength: 20 }), (text) => luhnValid(text) === referenceLuhn(text)), FC);
  });

  it('accepts every number built with the reference check digit', () => {
    fc.assert(fc.property(digitString(11, 18), (payload) => luhnValid(withCheckDigit(payload))), FC);
  });
});

describe('cardBrand', () => {
  it.each(APPROVING)('%s is %s', (number, brand) => {
    expect(cardBrand(number)).toBe(brand);
  });

  it('is visa for the visa decline cards', () => {
    expect(cardBrand('4000000000009995')).toBe('visa');
    expect(cardBrand('4100000000000019')).toBe('visa');
  });

  it('is unknown for a number in no brand range', () => {
    expect(cardBrand('9999999999999995')).toBe('unknown');
  });
});

describe('cvcLength', () => {
  it('is 4 for amex and 3 for every other brand', () => {
    expect(cvcLength('amex')).toBe(4);
    for (const brand of ['visa', 'mastercard', 'discover', 'jcb', 'diners', 'unionpay', 'maestro', 'unknown'] as const) {
      expect(cvcLength(brand)).toBe(3);
    }
  });

  it('follows the brand of the SPEC cards', () => {
    for (const [number] of APPROVING) expect(cvcLength(cardBrand(number))).toBe(number === '378282246310005' ? 4 : 3);
  });
});

describe('isExpired', () => {
  const at = (iso: string) => new Date(iso);

  it('is valid through the last millisecond of the expiry month (UTC)', () => {
    expect(isExpired(11, 2026, at('2026-11-01T00:00:00.000Z'))).toBe(false);
    expect(isExpired(11, 2026, at('2026-11-30T23:59:59.999Z'))).toBe(false);
    expect(isExpired(11, 2026, at('2026-12-01T00:00:00.000Z'))).toBe(true);
  });

  it('uses UTC, not local time', () => {
    // 23:30 UTC on Nov 30 is already December in UTC+1 and later zones.
    expect(isExpired(11, 2026, at('2026-11-30T23:30:00.000+00:00'))).toBe(false);
    // 00:30 on Dec 1 in UTC+2 is still November in UTC.
    expect(isExpired(11, 2026, at('2026-12-01T00:30:00.000+02:00'))).toBe(false);
    // 23:30 on Nov 30 in UTC-2 is already December in UTC.
    expect(isExpired(11, 2026, at('2026-11-30T23:30:00.000-02:00'))).toBe(true);
  });

  it('crosses the year boundary', () => {
    expect(isExpired(12, 2026, at('2026-12-31T23:59:59.999Z'))).toBe(false);
    expect(isExpired(12, 2026, at('2027-01-01T00:00:00.000Z'))).toBe(true);
    expect(isExpired(1, 2027, at('2026-12-31T23:59:59.999Z'))).toBe(false);
    expect(isExpired(1, 2027, at('2027-01-31T23:59:59.999Z'))).toBe(false);
    expect(isExpired(1, 2027, at('2027-02-01T00:00:00.000Z'))).toBe(true);
  });

  it('compares the year before the month', () => {
    expect(isExpired(12, 2025, at('2026-01-15T12:00:00.000Z'))).toBe(true);
    expect(isExpired(1, 2027, at('2026-12-15T12:00:00.000Z'))).toBe(false);
    expect(isExpired(1, 2030, at('2026-11-26T16:00:00.000Z'))).toBe(false);
  });

  it('handles the end of February in a leap year', () => {
    expect(isExpired(2, 2028, at('2028-02-29T23:59:59.999Z'))).toBe(false);
    expect(isExpired(2, 2028, at('2028-03-01T00:00:00.000Z'))).toBe(true);
  });
});

describe('cardFingerprint', () => {
  it('is equal for equal numbers under the same key', () => {
    expect(cardFingerprint('4242424242424242', KEY)).toBe(cardFingerprint('4242424242424242', Buffer.alloc(32, 7)));
  });

  it('differs for different numbers', () => {
    expect(cardFingerprint('4242424242424242', KEY)).not.toBe(cardFingerprint('5555555555554444', KEY));
    expect(cardFingerprint('4242424242424242', KEY)).not.toBe(cardFingerprint('4000000000000002', KEY));
  });

  it('differs for different keys', () => {
    expect(cardFingerprint('4242424242424242', KEY)).not.toBe(cardFingerprint('4242424242424242', OTHER_KEY));
  });

  it('has the fp_ form and never contains the number or its BIN', () => {
    for (const number of SPEC_CARDS) {
      const fingerprint = cardFingerprint(number, KEY);
      expect(fingerprint).toMatch(/^fp_[A-Za-z0-9_-]{32}$/);
      expect(fingerprint).not.toContain(number);
      expect(fingerprint).not.toContain(number.slice(0, 6));
    }
  });

  it('is equal exactly when the numbers are equal (random numbers)', () => {
    fc.assert(
      fc.property(digitString(12, 19), digitString(12, 19), (a, b) => (cardFingerprint(a, KEY) === cardFingerprint(b, KEY)) === (a === b)),
      FC,
    );
  });
});

describe('maskCard', () => {
  it('keeps brand, BIN, last 4, expiry and fingerprint, and nothing else', () => {
    expect(maskCard({ number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '987' }, KEY)).toEqual({
      brand: 'visa', bin: '424242', last4: '4242', expMonth: 12, expYear: 2030,
      fingerprint: cardFingerprint('4242424242424242', KEY),
    });
  });

  it.each(APPROVING)('never holds the full number or the CVC of %s', (number) => {
    const cvc = number === '378282246310005' ? '9876' : '987';
    const json = JSON.stringify(maskCard(card(number, cvc), KEY));
    expect(json).not.toContain(number);
    expect(json).not.toContain(cvc);
    expect(json.toLowerCase()).not.toContain('cvc');
    expect(json).not.toContain('"number"');
  });

  it('never holds the number, for random 12–19 digit numbers', () => {
    fc.assert(
      fc.property(digitString(12, 19), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2000, max: 2099 }), (number, expMonth, expYear) => {
        const masked = maskCard({ number, expMonth, expYear, cvc: '123' }, KEY);
        const json = JSON.stringify(masked);
        const { leading } = visibleDigits(number.length);
        return !json.includes(number) && masked.last4 === number.slice(-4) && masked.bin === number.slice(0, leading) && !('cvc' in masked)
          && number.length - masked.bin.length - masked.last4.length >= 6 && masked.bin.length <= 6;
      }),
      FC,
    );
  });

  it('shows fewer leading digits of a short number, so that six stay hidden (PCI DSS v4.0 3.4.1)', () => {
    // A 12-digit Maestro number used to keep 6 + 4 digits: all but two.
    const short = (number: string) => {
      const { bin, last4 } = maskCard(card(number), KEY);
      return `${bin}…${last4}`;
    };
    expect(short('675964982648')).toBe('67…2648');
    expect(short('6759649826438')).toBe('675…6438');
    expect(short('36227206271667')).toBe('3622…1667');
    expect(short('378282246310005')).toBe('37828…0005');
    expect(short('4242424242424242')).toBe('424242…4242');
    expect(short('6200000000000000005')).toBe('620000…0005');
  });
});

describe('containsCardNumber', () => {
  it.each(SPEC_CARDS.filter((n) => n !== FAILS_LUHN))('finds %s inside text', (number) => {
    expect(containsCardNumber(`please charge ${number} thanks`)).toBe(true);
    expect(containsCardNumber(number)).toBe(true);
    expect(containsCardNumber(`(${number}).`)).toBe(true);
    // Glued to letters it is still a card number ("card4242…", issue 13).
    expect(containsCardNumber(`x${number}y`)).toBe(true);
  });

  it('finds a card number written with spaces or dashes', () => {
    expect(containsCardNumber('card 4242 4242 4242 4242 exp 12/30')).toBe(true);
    expect(containsCardNumber('card 4242-4242-4242-4242')).toBe(true);
    expect(containsCardNumber('amex 3782 822463 10005')).toBe(true);
    expect(containsCardNumber('5555-5555 5555-4444')).toBe(true);
  });

  it('finds a card number that follows other digits in the same run', () => {
    // Before the fix, a run longer than 19 digits was cut at 19 and the card at its end was missed.
    expect(containsCardNumber('ref 0001 4000 0000 0000 9995')).toBe(true);
    // Glued to other digits it is found too: every 12–19 digit window of a run is tried.
    expect(containsCardNumber('00014000000000009995')).toBe(true);
    expect(containsCardNumber('batch 1234 5678 9012 0000 4000 0000 0000 9995')).toBe(true);
  });

  it('does not flag short digit runs', () => {
    for (const text of ['Order 1234', 'call 555-1234', '2026-11-26', 'tel +1 555 123 4567', 'INV-2026-000123', '12345678901', '', 'no digits']) {
      expect(containsCardNumber(text), text).toBe(false);
    }
  });

  it('does not flag order numbers that fail Luhn', () => {
    expect(luhnValid('123456789012')).toBe(false);
    expect(containsCardNumber('order 123456789012')).toBe(false);
    expect(containsCardNumber('order 1234 5678 9012')).toBe(false);
    expect(containsCardNumber('order 1234567890123')).toBe(false);
  });

  it('joins digits across any separator (issue 13: these were accepted)', () => {
    expect(containsCardNumber('4242.4242.4242.4242')).toBe(true);
    expect(containsCardNumber('4242/4242/4242/4242')).toBe(true);
    expect(containsCardNumber('4242_4242_4242_4242')).toBe(true);
    expect(containsCardNumber('card4242424242424242')).toBe(true);
  });

  it('finds any Luhn-valid number of a brand and length issued, whatever text and digit groups surround it', () => {
    const brands = fc.constantFrom(['4', 16], ['51', 16], ['2221', 16], ['34', 15], ['37', 15], ['6011', 16], ['3566', 16], ['36', 14]);
    fc.assert(
      fc.property(
        brands, fc.string({ unit: fc.constantFrom(...'abc xyz.,:'), maxLength: 20 }), digitString(0, 12), fc.constantFrom(' ', '-'), fc.infiniteStream(fc.integer({ min: 0, max: 9 })),
        ([prefix, length], text, leadingDigits, separator, digits) => {
          const payload = prefix + [...digits.take(length - prefix.length - 1)].join('');
          const number = withCheckDigit(payload);
          const lead = leadingDigits === '' ? '' : `${leadingDigits}${separator}`;
          return containsCardNumber(`${text} ${lead}${number} ${text}`);
        },
      ),
      FC,
    );
  });

  it('does not flag UUIDs (idempotency keys are often UUIDs)', () => {
    fc.assert(fc.property(fc.uuid(), (uuid) => !containsCardNumber(uuid)), { ...FC, numRuns: 2000 });
  });
});

describe('card types memoized by the first 8 digits', () => {
  // Prefixes from credit-card-type's table, including its 8-digit Elo pattern and ranges that overlap.
  const prefixes = fc.constantFrom('', '4', '51', '2221', '2720', '34', '37', '6011', '644', '65', '3528', '3589', '300', '36', '62', '81',
    '2200', '637095', '63737423', '63743358', '606282', '589562', '50', '56', '63', '67', '6221', '622126', '622925', '1800', '2131');
  const number = fc.tuple(prefixes, digitString(0, 19)).map(([prefix, rest]) => (prefix + rest).slice(0, 19)).filter((n) => n.length >= 1);

  /** The package's answer computed on the whole number, without the cache. */
  function referenceBrand(digits: string): string {
    const matches = creditCardType(digits);
    const match = matches.find((m) => m.lengths.includes(digits.length)) ?? matches[0];
    return match?.type ?? 'none';
  }

  it('gives the same brand as credit-card-type on the whole number, for any number and in any order', () => {
    const names: Record<string, string> = {
      visa: 'visa', mastercard: 'mastercard', 'american-express': 'amex', discover: 'discover', jcb: 'jcb',
      'diners-club': 'diners', unionpay: 'unionpay', maestro: 'maestro',
    };
    fc.assert(fc.property(number, (digits) => cardBrand(digits) === (names[referenceBrand(digits)] ?? 'unknown')), { ...FC, numRuns: 3000 });
  });

  it('gives the same type list as credit-card-type on the whole number', () => {
    fc.assert(fc.property(number, (digits) => {
      const expected = creditCardType(digits).map((m) => `${m.type}:${m.lengths.join('/')}`);
      return JSON.stringify(cardTypes(digits).map((m) => `${m.type}:${m.lengths.join('/')}`)) === JSON.stringify(expected);
    }), { ...FC, numRuns: 3000 });
  });
});
