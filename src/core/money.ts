import currencyCodes from 'currency-codes';

/** Amount bounds in minor units (SPEC §1). */
export const AMOUNT_MIN = 1;
export const AMOUNT_MAX = 99_999_999;

/**
 * ISO 4217 codes that are not money a card can be charged in: fund codes,
 * precious metals, SDRs, the test code and "no currency".
 */
const NOT_CHARGEABLE = new Set([
  'BOV', 'CHE', 'CHW', 'CLF', 'COU', 'MXV', 'USN', 'UYI', 'UYW',
  'XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX',
]);

/** Uppercase code → minor-unit exponent, built once from the ISO 4217 data package. */
const EXPONENTS: ReadonlyMap<string, number> = new Map(
  currencyCodes
    .codes()
    .filter((code) => !NOT_CHARGEABLE.has(code))
    .map((code) => [code, currencyCodes.code(code)?.digits ?? 2] as const),
);

/** Returns the uppercase ISO 4217 code, or null when it is not a chargeable currency in use. */
export function normalizeCurrency(input: string): string | null {
  // ASCII only: toUpperCase maps some non-ASCII letters to ASCII ("ı" → "I", "ſ" → "S").
  if (!/^[A-Za-z]{3}$/.test(input)) return null;
  const code = input.toUpperCase();
  return EXPONENTS.has(code) ? code : null;
}

/** Minor-unit exponent (JPY 0, USD 2, KWD 3) of a normalized code. */
export function currencyExponent(code: string): number {
  const exponent = EXPONENTS.get(code);
  if (exponent === undefined) throw new RangeError(`unknown currency ${code}`);
  return exponent;
}

export function isValidAmount(amount: unknown): amount is number {
  return Number.isSafeInteger(amount) && (amount as number) >= AMOUNT_MIN && (amount as number) <= AMOUNT_MAX;
}

/** Human form for messages and the dashboard, e.g. 1099 USD → "10.99 USD". */
export function formatMoney(amount: number, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === 0) return `${amount} ${currency}`;
  const digits = String(amount).padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)} ${currency}`;
}
