// The TypeScript types of `paylog/client` (src/client/schema.ts), generated from the OpenAPI
// document by openapi-typescript, plus the error codes the document gives examples of (its
// Error schema types `code` as a plain string; the examples name every code of every type).
// `npm run openapi` writes the file; `node scripts/client-schema.mjs` rewrites it from the
// committed docs/openapi.json alone. A test fails when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

export const CLIENT_SCHEMA_FILE = 'src/client/schema.ts';

const HEADER = `// Generated from docs/openapi.json by \`npm run openapi\` (scripts/client-schema.mjs): do not edit.
`;

/** The error codes of the document's error examples, by error type, in a stable order. */
function errorCodesByType(document) {
  const byType = new Map();
  for (const methods of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(methods)) {
      for (const response of Object.values(operation.responses ?? {})) {
        for (const media of Object.values(response.content ?? {})) {
          for (const example of Object.values(media.examples ?? {})) {
            const error = example.value?.error;
            if (typeof error?.type !== 'string' || typeof error.code !== 'string') continue;
            if (!byType.has(error.type)) byType.set(error.type, new Set());
            byType.get(error.type).add(error.code);
          }
        }
      }
    }
  }
  return [...byType.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, codes]) => [type, [...codes].sort()]);
}

function errorCodesSource(document) {
  const members = errorCodesByType(document).map(([type, codes]) => `    ${JSON.stringify(type)}: ${codes.map((c) => JSON.stringify(c)).join(' | ')};`);
  return `/** The error codes of each error type, as the document's error examples name them. */
export interface errorCodes {
${members.join('\n')}
}
`;
}

/** The source of src/client/schema.ts for an OpenAPI document (an object). */
export async function clientSchemaSource(document) {
  return `${HEADER}${astToString(await openapiTS(document))}${errorCodesSource(document)}`;
}

export async function writeClientSchema(document) {
  writeFileSync(CLIENT_SCHEMA_FILE, await clientSchemaSource(document));
  console.log(`wrote ${CLIENT_SCHEMA_FILE}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeClientSchema(JSON.parse(readFileSync('docs/openapi.json', 'utf8')));
}
