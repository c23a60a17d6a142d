import { createHash } from 'node:crypto';
import type { JsonObject } from '../core/audit-record.js';
import { PaylogError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { DEFAULT_KEY_ROLE, KEY_ROLES, type KeyRole, isKeyRole } from '../core/key-role.js';
import { rfc3339 } from '../core/time.js';
import type { ApiKey } from '../ports/key-store.js';
import type { AppContext, Caller } from './context.js';
import { draft } from './records.js';

const SECRET_PREFIX = 'sk_test_';
const SECRET_RANDOM_BYTES = 32;
/** sk_test_ + base64url of 32 random bytes. */
const SECRET_PATTERN = /^sk_test_[A-Za-z0-9_-]{43}$/;
export const MERCHANT_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** Secrets carry 256 random bits, so a plain SHA-256 is enough to store them safely. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * A `merchant` key acts for one merchant; an `auditor` key belongs to no merchant (pass '') and
 * reads only the audit trail (see core/key-role.ts).
 */
export async function createApiKey(
  ctx: AppContext,
  caller: Caller,
  merchantId: string,
  name: string | null,
  role: KeyRole = DEFAULT_KEY_ROLE,
  /** Recorded with key.created, e.g. the operating-system user who ran the command. */
  context: JsonObject = {},
): Promise<{ key: ApiKey; secret: string }> {
  if (!isKeyRole(role)) {
    throw new PaylogError('parameter_invalid', { param: 'role', message: `roles are ${KEY_ROLES.join(' or ')}.` });
  }
  if (role === 'auditor' && merchantId !== '') {
    throw new PaylogError('parameter_invalid', { param: 'merchant', message: 'auditor keys belong to no merchant; leave out the merchant.' });
  }
  if (role === 'merchant' && !MERCHANT_ID_PATTERN.test(merchantId)) {
    throw new PaylogError('parameter_invalid', { param: 'merchant', message: 'merchant IDs are 1–64 letters, digits, "_" or "-".' });
  }
  const nowMs = ctx.clock.now();
  const secret = SECRET_PREFIX + Buffer.from(ctx.random.bytes(SECRET_RANDOM_BYTES)).toString('base64url');
  const key: ApiKey = {
    id: newId('key', nowMs, ctx.random.bytes(16)), merchantId, role, name, secretHash: hashSecret(secret),
    createdAt: rfc3339(nowMs), revokedAt: null,
  };
  await ctx.store.keys.create(key);
  await ctx.writer.append({ records: [draft(caller, 'key.created', key.id, 'success', { merchantId, name, role, ...context })] });
  return { key, secret };
}

export async function revokeApiKey(ctx: AppContext, caller: Caller, id: string, context: JsonObject = {}): Promise<ApiKey> {
  const key = await ctx.store.keys.revoke(id, rfc3339(ctx.clock.now()));
  if (!key) throw new PaylogError('resource_missing', { param: 'id', message: `No such API key: '${id}'.` });
  // Refused by this process from now on; other processes stop trusting it within their cache age.
  ctx.apiKeyCache.forget(key.secretHash);
  await ctx.writer.append({ records: [draft(caller, 'key.revoked', key.id, 'success', { merchantId: key.merchantId, ...context })] });
  return key;
}

export type AuthResult =
  | { ok: true; key: ApiKey }
  | { ok: false; code: 'api_key_missing' | 'api_key_invalid' | 'api_key_revoked'; keyId: string | null };

/**
 * Checks an Authorization header value. Never echoes or records the secret. A valid key is
 * looked up in the store at most once per cache age (see ApiKeyCache); unknown and revoked
 * keys are looked up every time.
 */
export async function authenticate(ctx: AppContext, header: string | undefined): Promise<AuthResult> {
  if (header === undefined || header === '') return { ok: false, code: 'api_key_missing', keyId: null };
  const match = /^Bearer (\S+)$/.exec(header);
  const secret = match?.[1];
  if (!secret || !SECRET_PATTERN.test(secret)) return { ok: false, code: 'api_key_invalid', keyId: null };
  const secretHash = hashSecret(secret);
  const nowMs = ctx.clock.now();
  const cached = ctx.apiKeyCache.get(secretHash, nowMs);
  if (cached) return { ok: true, key: cached };
  const epoch = ctx.apiKeyCache.epoch;
  const key = await ctx.store.keys.findByHash(secretHash);
  if (!key) return { ok: false, code: 'api_key_invalid', keyId: null };
  if (key.revokedAt !== null) return { ok: false, code: 'api_key_revoked', keyId: key.id };
  ctx.apiKeyCache.set(key, nowMs, epoch);
  return { ok: true, key };
}
