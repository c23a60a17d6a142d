import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLIENT_SCHEMA_FILE, clientSchemaSource } from '../../scripts/client-schema.mjs';

/**
 * The client's types are generated from docs/openapi.json (itself what the server serves, see
 * test/api/openapi.test.ts): regenerated here, they must equal the committed file.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the client types', () => {
  it(`${CLIENT_SCHEMA_FILE} is what docs/openapi.json generates (else run \`npm run openapi\`)`, async () => {
    const document = JSON.parse(readFileSync(`${ROOT}docs/openapi.json`, 'utf8')) as unknown;
    const generated = await clientSchemaSource(document);
    expect(readFileSync(`${ROOT}${CLIENT_SCHEMA_FILE}`, 'utf8')).toBe(generated);
  });
});
