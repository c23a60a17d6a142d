import { describe, expect, it } from 'vitest';
import { AMOUNT_MAX, AMOUNT_MIN, currencyExponent, formatMoney, isValidAmount, normalizeCurrency } from '../../src/core/money.js';

describe('currencyExponent', () => {
  it.each([
    ['JPY', 0],
    ['KRW', 0],
    ['USD', 2],
    ['EUR', 2],
    ['GBP', 2],
    ['KWD', 3],
    ['BHD', 3],
  ])('%s has exponent %i', (code, exponent) => {
    expect(currencyExponent(code)).toBe(exponent);
  });

  it('throws on a code that is not a chargeable currency', () => {
    expect(() => currencyExponent('XXX')).toThrow(RangeError);
    expect(() => currencyExponent('usd')).toThrow(RangeError); // expects a normalized code
    expect(() => currencyExponent('ABC')).toThrow(RangeError);
  });
});

describe('normalizeCurrency', () => {
  it.each(['usd', 'USD', 'Usd', 'uSd', 'usD'])('accepts %s in any case and returns USD', (input) => {
    expect(normalizeCurrency(input)).toBe('USD');
  });

  it('uppercases other currencies', () => {
    expect(normalizeCurrency('jpy')).toBe('JPY');
    expect(normalizeCurrency('kwd')).toBe('KWD');
    expect(normalizeCurrency('eUr')).toBe('EUR');
  });

  it.each([
    ['XXX', 'no currency'],
    ['XTS', 'the test code'],
    ['XAU', 'gold'],
    ['XAG', 'silver'],
    ['XDR', 'special drawing rights'],
    ['USN', 'a fund code'],
    ['BOV', 'a fund code'],
    ['CLF', 'a unit of account'],
  ])('rejects %s (%s), in any case', (code) => {
    expect(normalizeCurrency(code)).toBeNull();
    expect(normalizeCurrency(code.toLowerCase())).toBeNull();
  });

  it.each(['', 'U', 'US', 'USDD', ' USD', 'USD ', 'U$D', '123', 'US1', 'ABC', 'QQQ', 'us-', '   '])('rejects garbage %j', (input) => {
    expect(normalizeCurrency(input)).toBeNull();
  });

  it('rejects non-ASCII letters that uppercase to an ASCII code', () => {
    // "ı".toUpperCase() === "I" and "ſ".toUpperCase() === "S": not ISO 4217 input.
    expect('ıdr'.toUpperCase()).toBe('IDR');
    expect(normalizeCurrency('ıdr')).toBeNull();
    expect(normalizeCurrency('ſek')).toBeNull();
    expect(normalizeCurrency('ＵＳＤ')).toBeNull();
  });

  it('rejects withdrawn currencies', () => {
    expect(normalizeCurrency('DEM')).toBeNull();
    expect(normalizeCurrency('FRF')).toBeNull();
  });
});

describe('isValidAmount', () => {
  it('has the SPEC bounds 1 … 99,999,999', () => {
    expect(AMOUNT_MIN).toBe(1);
    expect(AMOUNT_MAX).toBe(99_999_999);
  });

  it.each([1, 2, 1099, 99_999_998, 99_999_999])('accepts %i', (amount) => {
    expect(isValidAmount(amount)).toBe(true);
  });

  it.each([0, -1, 100_000_000, 10.99, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])('rejects %d', (amount) => {
    expect(isValidAmount(amount)).toBe(false);
  });

  it.each(['1099', null, undefined, 1099n, {}, [1099], true])('rejects the non-number %s', (amount) => {
    expect(isValidAmount(amount)).toBe(false);
  });
});

describe('formatMoney', () => {
  it.each([
    [1099, 'USD', '10.99 USD'],
    [5, 'USD', '0.05 USD'],
    [100, 'USD', '1.00 USD'],
    [1, 'EUR', '0.01 EUR'],
    [99_999_999, 'USD', '999999.99 USD'],
    [1099, 'JPY', '1099 JPY'],
    [1, 'JPY', '1 JPY'],
    [1, 'KWD', '0.001 KWD'],
    [12_345, 'KWD', '12.345 KWD'],
    [1000, 'KWD', '1.000 KWD'],
  ])('%i %s → %s', (amount, currency, expected) => {
    expect(formatMoney(amount, currency)).toBe(expected);
  });

  it('throws on an unknown currency', () => {
    expect(() => formatMoney(100, 'XXX')).toThrow(RangeError);
  });
});
