import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { AppContext } from '../../app/context.js';
import { draft } from '../../app/records.js';
import { PaylogError } from '../../core/errors.js';
import { type Access, roleAllows } from '../../core/key-role.js';
import { callerOf } from './caller.js';

/**
 * Which access each authenticated route needs, by its path: payments for merchants, the
 * audit trail for auditors. A route of the authenticated scope that no rule covers stops the
 * app from being built, so a new route cannot slip through without a role decision.
 */
const ROUTE_ACCESS: readonly { prefix: string; access: Access }[] = [
  { prefix: '/v1/payments', access: 'payments' },
  { prefix: '/v1/audit/', access: 'audit' },
];

export function routeAccess(url: string): Access | null {
  return ROUTE_ACCESS.find((rule) => url === rule.prefix || url.startsWith(rule.prefix.endsWith('/') ? rule.prefix : `${rule.prefix}/`))?.access ?? null;
}

/**
 * Adds the role check to every route registered in `scope` after this call, as a route-level
 * onRequest hook: it runs after the scope's authentication (which sets request.apiKey) and
 * before the body is read. A refusal is a `request.rejected` record with reason
 * forbidden_role, durable before the 403 is sent.
 */
export function registerRoleCheck(scope: FastifyInstance, ctx: AppContext): void {
  scope.addHook('onRoute', (route) => {
    const access = routeAccess(route.url);
    if (access === null) throw new Error(`route ${route.method} ${route.url} has no role rule (src/runtimes/http/roles.ts)`);
    const check: onRequestHookHandler = async (request) => checkRole(ctx, request, access);
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [check] : [check, ...(Array.isArray(existing) ? existing : [existing])];
  });
}

async function checkRole(ctx: AppContext, request: FastifyRequest, access: Access): Promise<void> {
  const key = request.apiKey;
  // Authentication ran first and refused a missing key; a route outside it is not ours to guard.
  if (key === null) throw new PaylogError('api_key_missing');
  if (roleAllows(key.role, access)) return;
  const route = request.routeOptions.url ?? null;
  await ctx.writer.append({
    records: [draft(callerOf(request), 'request.rejected', null, 'failure', {
      method: request.method, route, status: 403, code: 'forbidden_role', param: null, role: key.role,
    }, 'forbidden_role')],
  });
  throw new PaylogError('forbidden_role', { message: `This is ${key.role === 'auditor' ? 'an auditor' : 'a merchant'} key; ${access === 'audit' ? 'only auditor keys read the audit trail (/v1/audit/…)' : 'only merchant keys create and read payments'}.` });
}
