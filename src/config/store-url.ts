import { InvalidValue } from './settings.js';

export type StoreLocation =
  | { kind: 'sqlite'; path: string }
  | { kind: 'memory' }
  | { kind: 'postgres'; url: string }
  | { kind: 'dynamodb'; url: string };

/** Parses a --store URL: sqlite:PATH, memory:, postgres://…, dynamodb://…. */
export function parseStoreUrl(raw: string): StoreLocation {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new InvalidValue('needs a file path, e.g. sqlite:./data/paylog.db');
    return { kind: 'sqlite', path };
  }
  if (raw === 'memory:') return { kind: 'memory' };
  if (/^postgres(ql)?:\/\//.test(raw)) return { kind: 'postgres', url: raw };
  if (raw.startsWith('dynamodb://')) return { kind: 'dynamodb', url: raw };
  throw new InvalidValue('must be sqlite:PATH, postgres://… or dynamodb://…');
}

/** The store URL with any password removed, for logs and errors. */
export function redactStoreUrl(raw: string): string {
  return raw.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
