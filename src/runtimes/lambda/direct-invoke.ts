import { Ajv } from 'ajv';
import type { Context } from 'aws-lambda';
import { createPayment } from '../../app/create-payment.js';
import type { ApiResponse, AppContext, Caller } from '../../app/context.js';
import { PaylogError } from '../../core/errors.js';
import { redactCardNumbers } from '../../core/redact.js';
import type { PaymentRequest } from '../../core/payment.js';
import { toPaylogError } from '../http/error-mapping.js';
import { PaymentRequestBody } from '../http/schemas.js';

// The same schema and the same strictness as the HTTP route (no coercion, no stripping).
const validate = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false }).compile(PaymentRequestBody);

export interface DirectResult {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * A direct invocation whose event is a payment request body (the console's test event).
 * The merchant comes from configuration and the actor is the invocation itself. The
 * invocation's request ID is the idempotency key: Lambda retries an asynchronous
 * invocation with the same ID, so a retry never charges twice.
 */
export async function directInvoke(ctx: AppContext, merchantId: string, event: unknown, context: Context): Promise<DirectResult> {
  const requestId = `req_${context.awsRequestId}`;
  const caller: Caller = {
    merchantId,
    actor: `lambda:${context.functionName}:${context.awsRequestId}`,
    origin: { requestId, traceId: traceIdOf(process.env._X_AMZN_TRACE_ID), ip: null },
  };
  let response: ApiResponse;
  try {
    if (!merchantId) throw new PaylogError('internal_error', { message: 'Direct invocations need PAYLOG_LAMBDA_MERCHANT.' });
    if (!validate(event)) throw toPaylogError({ validation: validate.errors ?? [], validationContext: 'body' });
    response = await createPayment(ctx, caller, event as unknown as PaymentRequest, `lambda-${context.awsRequestId}`);
  } catch (err) {
    const error = toPaylogError(err);
    response = {
      status: error.status,
      headers: error.retryAfterS === undefined ? {} : { 'Retry-After': String(error.retryAfterS) },
      body: { error: { type: error.type, code: error.code, message: redactCardNumbers(error.message), requestId, ...(error.param !== undefined && { param: redactCardNumbers(error.param) }) } },
    };
  }
  return { statusCode: response.status, headers: { 'Request-Id': requestId, ...response.headers }, body: response.body };
}

/** X-Ray's Root=1-5759e988-bd862e3fe1be46a994272793 → the W3C-style 32 hex trace ID. */
function traceIdOf(header: string | undefined): string | null {
  const root = /Root=1-([0-9a-f]{8})-([0-9a-f]{24})/.exec(header ?? '');
  return root ? `${root[1]}${root[2]}` : null;
}
