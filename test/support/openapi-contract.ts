import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/**
 * Checks responses against docs/openapi.json, as a validating proxy would: the route and the
 * status must be documented, the body must match the documented schema, and the documented
 * headers a client reads (Request-Id on every response) must be there. Every response the API
 * tests get passes through it (test/support/harness.ts); a mismatch fails the test that got it.
 */

interface MediaType { schema?: unknown }
interface ResponseObject { headers?: Record<string, unknown>; content?: Record<string, MediaType> }
interface Operation { operationId: string; responses: Record<string, ResponseObject> }
interface Document { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } }

const DOCUMENT_URL = new URL('../../docs/openapi.json', import.meta.url);
const DOCUMENT_ID = 'https://paylog.invalid/openapi.json';

export interface CheckedResponse {
  method: string;
  url: string;
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

export interface Covered {
  operationId: string;
  status: string;
}

export class OpenApiContract {
  private readonly document: Document;
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly routes: { method: string; pattern: RegExp; operation: Operation; path: string }[] = [];
  private readonly validators = new Map<string, ValidateFunction>();
  /** Every (operation, status) a checked response exercised. */
  readonly covered = new Set<string>();

  constructor(document: Document = JSON.parse(readFileSync(DOCUMENT_URL, 'utf8')) as Document) {
    this.document = document;
    this.ajv.addSchema({ $id: DOCUMENT_ID, components: document.components });
    for (const [path, methods] of Object.entries(document.paths)) {
      const pattern = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const [method, operation] of Object.entries(methods)) this.routes.push({ method: method.toUpperCase(), pattern, operation, path });
    }
    // A literal segment wins over a parameter (/v1/payments/stats over /v1/payments/{id}).
    this.routes.sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0));
  }

  /** The operations the document names, each with the statuses it documents. */
  operations(): { operationId: string; statuses: string[] }[] {
    return Object.values(this.document.paths).flatMap((methods) => Object.values(methods))
      .map((op) => ({ operationId: op.operationId, statuses: Object.keys(op.responses) }));
  }

  /**
   * What is wrong with a response, or [] when it matches. Responses to routes the document
   * leaves out (the console, the document itself) and unknown routes (404 resource_missing) are
   * checked only for their Request-Id.
   */
  check(response: CheckedResponse): string[] {
    const path = response.url.split('?')[0] as string;
    const where = `${response.method} ${path} → ${response.status}`;
    const problems: string[] = [];
    if (typeof response.headers['request-id'] !== 'string') problems.push(`${where}: no Request-Id header`);
    const route = this.routes.find((r) => r.method === response.method && r.pattern.test(path));
    if (!route) return problems;
    const documented = route.operation.responses[String(response.status)];
    if (!documented) return [...problems, `${where}: status not documented for ${route.operation.operationId}`];
    this.covered.add(`${route.operation.operationId} ${response.status}`);
    for (const name of Object.keys(documented.headers ?? {})) {
      // Only the headers every such response carries; the others are documented as optional.
      if (REQUIRED_HEADERS.has(name) && response.headers[name.toLowerCase()] === undefined) problems.push(`${where}: no ${name} header`);
    }
    const media = documented.content?.['application/json'];
    if (!media?.schema) return problems;
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return [...problems, `${where}: body is not JSON`];
    }
    const validate = this.validator(route.operation.operationId, String(response.status), media.schema);
    if (!validate(body)) problems.push(`${where}: body does not match the document: ${this.ajv.errorsText(validate.errors)}`);
    return problems;
  }

  private validator(operationId: string, status: string, schema: unknown): ValidateFunction {
    const key = `${operationId} ${status}`;
    let validate = this.validators.get(key);
    if (!validate) {
      // References point into the document's components, registered above under its $id.
      const resolved = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`)) as object;
      validate = this.ajv.compile(resolved);
      this.validators.set(key, validate);
    }
    return validate;
  }
}

/** Headers whose absence is a mismatch wherever they are documented. */
const REQUIRED_HEADERS = new Set(['Request-Id', 'Retry-After', 'Location']);
