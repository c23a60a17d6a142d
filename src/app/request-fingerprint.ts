import { createHmac } from 'node:crypto';
import { canonicalJson } from '../core/jcs.js';

/**
 * Fingerprint of a request body for idempotency: HMAC-SHA256 over its RFC 8785 form.
 * Keyed rather than a bare SHA-256 because the body holds a card number, and an unkeyed
 * hash of a card number can be reversed by trying every number.
 */
export function requestFingerprint(key: Buffer, body: unknown): string {
  return createHmac('sha256', key).update('paylog/idempotency\0').update(canonicalJson(body)).digest('hex');
}
