import { createHmac } from 'node:crypto';
import creditCardType from 'credit-card-type';
import { visibleDigits } from './redact.js';

/** The detector lives with the masking it drives; re-exported for the card checks' callers. */
export { containsCardNumber } from './redact.js';

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay' | 'maestro' | 'unknown';

/** Card details as they arrive. Only ever held in memory, never stored or logged. */
export interface CardDetails {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/**
 * What may be kept about a card: no full number, no CVC. `bin` and `last4` are the digits
 * masking may show (PCI DSS v4.0 3.4.1): the first six and the last four, and at least six
 * hidden, so a 12-digit number keeps only its first two ("bin") and last four.
 */
export interface MaskedCard {
  brand: CardBrand;
  bin: string;
  last4: string;
  expMonth: number;
  expYear: number;
  fingerprint: string;
}

const BRAND_NAMES: Record<string, CardBrand> = {
  visa: 'visa',
  mastercard: 'mastercard',
  'american-express': 'amex',
  discover: 'discover',
  jcb: 'jcb',
  'diners-club': 'diners',
  unionpay: 'unionpay',
  maestro: 'maestro',
};

export const CARD_NUMBER_PATTERN = '^[0-9]{12,19}$';

export function luhnValid(number: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = number.length - 1; i >= 0; i--) {
    let digit = number.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return false;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return number.length > 0 && sum % 10 === 0;
}

interface CardType {
  type: string;
  lengths: readonly number[];
}

/** credit-card-type's longest pattern (63737423): its answer for longer input depends on these digits only. */
const LONGEST_PATTERN_DIGITS = 8;
const CARD_TYPES_CACHE_MAX = 4_096;
const cardTypesCache = new Map<string, readonly CardType[]>();

/**
 * credit-card-type's matches, memoized by the first 8 digits: the package deep-clones its
 * table on every call, which cost more than the rest of payment validation together. The
 * cache is bounded (cleared when full) and holds only those 8 digits, never a whole number.
 */
export function cardTypes(digits: string): readonly CardType[] {
  const prefix = digits.length > LONGEST_PATTERN_DIGITS ? digits.slice(0, LONGEST_PATTERN_DIGITS) : digits;
  let types = cardTypesCache.get(prefix);
  if (types === undefined) {
    types = creditCardType(prefix).map((m) => ({ type: m.type, lengths: m.lengths }));
    if (cardTypesCache.size >= CARD_TYPES_CACHE_MAX) cardTypesCache.clear();
    cardTypesCache.set(prefix, types);
  }
  return types;
}

/** Brand from the BIN ranges of the credit-card-type package. */
export function cardBrand(number: string): CardBrand {
  const matches = cardTypes(number);
  const match = matches.find((m) => m.lengths.includes(number.length)) ?? matches[0];
  return (match && BRAND_NAMES[match.type]) ?? 'unknown';
}

export function cvcLength(brand: CardBrand): number {
  return brand === 'amex' ? 4 : 3;
}

/** A card is valid through the last day of its expiry month (UTC). */
export function isExpired(expMonth: number, expYear: number, now: Date): boolean {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  return expYear < year || (expYear === year && expMonth < month);
}

/** Keyed hash of the number: equal cards give equal fingerprints; the number cannot be recovered. */
export function cardFingerprint(number: string, key: Buffer): string {
  return `fp_${createHmac('sha256', key).update(number).digest('base64url').slice(0, 32)}`;
}

export function maskCard(card: CardDetails, fingerprintKey: Buffer): MaskedCard {
  const { leading, trailing } = visibleDigits(card.number.length);
  return {
    brand: cardBrand(card.number),
    bin: card.number.slice(0, leading),
    last4: trailing === 0 ? '' : card.number.slice(-trailing),
    expMonth: card.expMonth,
    expYear: card.expYear,
    fingerprint: cardFingerprint(card.number, fingerprintKey),
  };
}
