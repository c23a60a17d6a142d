/**
 * What an API key may do. A `merchant` key takes and reads its own merchant's payments; an
 * `auditor` key reads the audit trail (checkpoints and consistency proofs of the whole journal)
 * and nothing else: it neither creates payments nor reads any merchant's payments. Separate
 * keys for separate duties (PCI DSS 7.2): a key handed to an auditor cannot move money, and a
 * merchant's key cannot read every stream's record counts.
 */
export const KEY_ROLES = ['merchant', 'auditor'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

/** Keys made before roles existed, and keys created without one, are merchant keys. */
export const DEFAULT_KEY_ROLE: KeyRole = 'merchant';

/** The kinds of access the API's authenticated routes need. */
export const ACCESS_KINDS = ['payments', 'audit'] as const;
export type Access = (typeof ACCESS_KINDS)[number];

const ALLOWED: Record<KeyRole, ReadonlySet<Access>> = {
  merchant: new Set<Access>(['payments']),
  auditor: new Set<Access>(['audit']),
};

/** The one role check: every runtime (server, Lambda) calls it through the same HTTP app. */
export function roleAllows(role: KeyRole, access: Access): boolean {
  return ALLOWED[role].has(access);
}

export function isKeyRole(value: unknown): value is KeyRole {
  return typeof value === 'string' && (KEY_ROLES as readonly string[]).includes(value);
}
