import type { FastifyError } from 'fastify';
import { PaylogError } from '../../core/errors.js';
import { containsCardNumber } from '../../core/redact.js';
import { StoreUnavailableError } from '../../ports/store.js';

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Turns whatever was thrown into a PaylogError with a stable code. Never carries input values. */
export function toPaylogError(err: unknown): PaylogError {
  if (err instanceof PaylogError) return err;
  if (err instanceof StoreUnavailableError) return new PaylogError('store_unavailable', { cause: err });
  const fastifyError = err as Partial<FastifyError> & { validation?: AjvError[]; validationContext?: string };
  if (Array.isArray(fastifyError.validation) && fastifyError.validation.length > 0) {
    return fromValidation(fastifyError.validation[0] as AjvError, fastifyError.validationContext ?? 'body');
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PaylogError('body_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? new PaylogError('unsupported_media_type') : new PaylogError('parameter_invalid', { message: 'Content-Length does not match the body.' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PaylogError('body_invalid_json');
    default:
      break;
  }
  // Node's JSON parser (and secure-json-parse for __proto__) throw SyntaxError with statusCode 400.
  if (fastifyError.statusCode === 400) return new PaylogError('body_invalid_json');
  if (fastifyError.statusCode === 413) return new PaylogError('body_too_large');
  if (fastifyError.statusCode === 415) return new PaylogError('unsupported_media_type');
  return new PaylogError('internal_error', { cause: err });
}

function fromValidation(error: AjvError, context: string): PaylogError {
  const base = pathToParam(error.instancePath);
  if (error.keyword === 'additionalProperties') {
    const param = joinParam(base, String(error.params.additionalProperty));
    return new PaylogError('parameter_unknown', { param: safeParam(param, context), message: `Received unknown parameter: ${safeParam(param, context)}.` });
  }
  if (error.keyword === 'required') {
    const param = joinParam(base, String(error.params.missingProperty));
    return new PaylogError('parameter_missing', { param: safeParam(param, context), message: `Missing required parameter: ${safeParam(param, context)}.` });
  }
  if (error.keyword === 'propertyNames') {
    return new PaylogError('parameter_invalid', { param: safeParam(base, context), message: `Keys of "${safeParam(base, context)}" must be 1 to 40 characters, without control characters.` });
  }
  const param = safeParam(base === '' ? context : base, context);
  return new PaylogError('parameter_invalid', { param, message: `Invalid "${param}": ${describe(error)}.` });
}

/** ajv's messages state the rule broken ("must be integer"), never the value sent. */
function describe(error: AjvError): string {
  if (error.keyword === 'pattern') return 'wrong format';
  if (error.keyword === 'type') return `must be ${String(error.params.type)}`;
  return error.message ?? 'invalid value';
}

function pathToParam(instancePath: string): string {
  return instancePath.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
}

function joinParam(base: string, name: string): string {
  return base === '' ? name : `${base}.${name}`;
}

/**
 * A parameter name comes from the client: one that could hold a card number (the detector every
 * sink uses, so "4242.4242.4242.4242" as a field name too) is never echoed, nor recorded.
 */
function safeParam(param: string, context: string): string {
  const bounded = param.length > 200 ? `${param.slice(0, 200)}…` : param;
  return containsCardNumber(param) || /\d{12,}/.test(bounded) ? `${context === 'body' ? '' : `${context}.`}[redacted]` : bounded;
}
