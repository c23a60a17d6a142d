// Writes docs/openapi.json, the document `paylog serve` serves at /openapi.json (run after
// `npm run build`), and the client's types generated from it (src/client/schema.ts). Tests fail
// when the committed files and the served document differ.
import { writeFileSync } from 'node:fs';
import { writeClientSchema } from './client-schema.mjs';
import { openApiDocument } from './openapi-document.mjs';

const file = 'docs/openapi.json';
const document = await openApiDocument();
writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${file}`);
await writeClientSchema(document);
