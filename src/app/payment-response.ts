import { ERROR_CODES } from '../core/errors.js';
import type { Payment } from '../core/payment.js';
import type { ApiResponse } from './context.js';

/** Seconds a client should wait before retrying a payment that failed as gateway_unavailable. */
export const GATEWAY_RETRY_AFTER_S = 30;

/** Renders a payment in its final (or processing) state as SPEC §1's response. */
export function paymentResponse(payment: Payment, requestId: string, retryAfterS: number): ApiResponse {
  switch (payment.status) {
    case 'succeeded':
      return { status: 201, body: payment, headers: { Location: `/v1/payments/${payment.id}` } };
    case 'processing':
      return { status: 202, body: payment, headers: { Location: `/v1/payments/${payment.id}` } };
    case 'declined': {
      const code = payment.failureCode ?? 'card_declined';
      const spec = ERROR_CODES[code];
      return {
        status: spec.status,
        body: {
          error: {
            type: spec.type, code, declineCode: payment.declineCode ?? code, message: spec.message,
            requestId, payment,
          },
        },
        headers: {},
      };
    }
    case 'failed': {
      const spec = ERROR_CODES.gateway_unavailable;
      return {
        status: spec.status,
        body: { error: { type: spec.type, code: 'gateway_unavailable', message: spec.message, requestId, payment } },
        headers: { 'Retry-After': String(retryAfterS) },
      };
    }
  }
}
