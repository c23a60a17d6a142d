import { TABLES } from './tables.js';

/** Where a DynamoDB store lives, parsed from `dynamodb://TABLE_PREFIX?region=…&endpoint=…`. */
export interface DynamoLocation {
  /** Every table is `${prefix}-${suffix}` (tables.ts). */
  prefix: string;
  region: string;
  /** A non-AWS endpoint (DynamoDB Local); absent for AWS itself. */
  endpoint?: string;
}

export const DEFAULT_REGION = 'us-east-1';

/** A malformed store URL: configuration, not an outage. */
export class DynamoUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DynamoUrlError';
  }
}

/** DynamoDB table names are 3–255 characters of [A-Za-z0-9_.-]. */
const TABLE_NAME_CHARS_MAX = 255;
const PREFIX_PATTERN = /^[A-Za-z0-9_.-]+$/;
const KNOWN_PARAMS = new Set(['region', 'endpoint']);

/**
 * Parses a store URL. The region falls back to AWS_REGION (the SDK's own variable, which
 * Lambda sets) and then us-east-1. Throws a one-line DynamoUrlError naming what is wrong.
 */
export function parseDynamoUrl(url: string, env: NodeJS.ProcessEnv = process.env): DynamoLocation {
  if (!url.startsWith('dynamodb://')) throw new DynamoUrlError('a DynamoDB store URL starts with dynamodb://');
  const rest = url.slice('dynamodb://'.length);
  const q = rest.indexOf('?');
  const prefix = (q === -1 ? rest : rest.slice(0, q)).replace(/\/$/, '');
  const params = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1));

  const longestSuffix = Math.max(...Object.values(TABLES).map((t) => t.suffix.length));
  if (!PREFIX_PATTERN.test(prefix) || prefix.length + 1 + longestSuffix > TABLE_NAME_CHARS_MAX) {
    throw new DynamoUrlError('a DynamoDB store URL needs a table prefix of letters, digits, "_", "-" or ".", e.g. dynamodb://paylog');
  }
  for (const name of params.keys()) {
    if (!KNOWN_PARAMS.has(name)) throw new DynamoUrlError(`a DynamoDB store URL takes only region and endpoint, not ${JSON.stringify(name)}`);
  }
  const region = params.get('region') || env.AWS_REGION || DEFAULT_REGION;
  if (!/^[a-z0-9-]+$/.test(region)) throw new DynamoUrlError(`${JSON.stringify(region)} is not an AWS region`);

  const endpoint = params.get('endpoint');
  if (endpoint === null || endpoint === '') return { prefix, region };
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new DynamoUrlError(`the DynamoDB endpoint ${JSON.stringify(endpoint)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new DynamoUrlError(`the DynamoDB endpoint ${JSON.stringify(endpoint)} must be http:// or https://`);
  }
  return { prefix, region, endpoint };
}
