import { createHmac } from 'node:crypto';
import creditCardType from 'credit-card-type';

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay' | 'maestro' | 'unknown';

/** Card details as they arrive. Only ever held in memory, never stored or logged. */
export interface CardDetails {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/** What may be kept about a card: no full number, no CVC. */
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

/** Brand from the BIN ranges of the credit-card-type package. */
export function cardBrand(number: string): CardBrand {
  const matches = creditCardType(number);
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
  return {
    brand: cardBrand(card.number),
    bin: card.number.slice(0, 6),
    last4: card.number.slice(-4),
    expMonth: card.expMonth,
    expYear: card.expYear,
    fingerprint: cardFingerprint(card.number, fingerprintKey),
  };
}

const DIGIT_RUN = /\d(?:[ -]?\d){11,18}/g;

/**
 * True when free text holds something that looks like a card number (12–19 digits,
 * optionally separated by spaces or dashes, passing Luhn). Used to refuse card data
 * in fields that end up in records, such as descriptions and metadata.
 */
export function containsCardNumber(text: string): boolean {
  for (const match of text.matchAll(DIGIT_RUN)) {
    const digits = match[0].replace(/[ -]/g, '');
    for (let len = 19; len >= 12; len--) {
      for (let start = 0; start + len <= digits.length; start++) {
        if (luhnValid(digits.slice(start, start + len))) return true;
      }
    }
  }
  return false;
}
