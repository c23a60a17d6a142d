// Writes docs/openapi.json, the document `paylog serve` serves at /openapi.json (run after
// `npm run build`). A test fails when the committed file and the served document differ.
import { writeFileSync } from 'node:fs';
import { openApiDocument } from './openapi-document.mjs';

const file = 'docs/openapi.json';
writeFileSync(file, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
console.log(`wrote ${file}`);
