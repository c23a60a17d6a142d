import { createHmac } from 'node:crypto';
import { canonicalJson } from '../core/jcs.js';

/**
 * Fingerprint of a request body for idempotency: HMAC-SHA256 over its RFC 8785 form.
 * Keyed rather than a bare SHA-256 because the body holds a card number, and an unkeyed
 * hash of a card number can be reversed by trying every number.
 *
 * The key stays a Buffer: importing it once as a KeyObject (crypto.createSecretKey) was
 * measured at under 0.1 µs less per HMAC on Node 20, within the noise.
 */
export function requestFingerprint(key: Buffer, body: unknown): string {
  return createHmac('sha256', key).update('paylog/idempotency\0').update(canonicalPaymentRequest(body)).digest('hex');
}

const REQUEST_MEMBERS: ReadonlySet<string> = new Set(['amount', 'currency', 'description', 'merchantReference', 'metadata', 'paymentMethod']);

/**
 * canonicalJson(body), written out for the shape of a payment request (SPEC §1): its members
 * in sorted order, only `metadata` canonicalized generically. Every body of another shape (a
 * member more, a value of another type, undefined) is canonicalized the generic way, so the
 * fingerprint is always the same; a property test holds the two together. About a quarter of
 * the generic cost, for a body a payment fingerprints once.
 */
export function canonicalPaymentRequest(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return canonicalJson(body);
  const r = body as Record<string, unknown>;
  if (typeof r.toJSON === 'function') return canonicalJson(body);
  for (const key of Object.keys(r)) if (!REQUEST_MEMBERS.has(key) || r[key] === undefined) return canonicalJson(body);
  const method = r.paymentMethod as Record<string, unknown> | undefined;
  const card = method?.card as Record<string, unknown> | undefined;
  if (!isFiniteNumber(r.amount) || typeof r.currency !== 'string' || !optionalString(r.description) || !optionalString(r.merchantReference)
    || !hasExactly(method, ['card', 'type']) || typeof method.type !== 'string'
    || !hasExactly(card, ['cvc', 'expMonth', 'expYear', 'number']) || typeof card.cvc !== 'string' || typeof card.number !== 'string'
    || !isFiniteNumber(card.expMonth) || !isFiniteNumber(card.expYear)) return canonicalJson(body);
  const q = JSON.stringify;
  return `{"amount":${q(r.amount)},"currency":${q(r.currency)}`
    + (r.description === undefined ? '' : `,"description":${q(r.description)}`)
    + (r.merchantReference === undefined ? '' : `,"merchantReference":${q(r.merchantReference)}`)
    + (r.metadata === undefined ? '' : `,"metadata":${canonicalJson(r.metadata)}`)
    + `,"paymentMethod":{"card":{"cvc":${q(card.cvc)},"expMonth":${q(card.expMonth)},"expYear":${q(card.expYear)},"number":${q(card.number)}},`
    + `"type":${q(method.type)}}}`;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/** A plain object whose own keys are exactly these, none undefined (JCS would leave those out). */
function hasExactly(value: unknown, keys: readonly string[]): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(value, k) && (value as Record<string, unknown>)[k] !== undefined)
    && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}
