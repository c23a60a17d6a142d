// Bundles the Lambda handler into dist/lambda/handler.mjs (one ESM file exporting `handler`).
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const outfile = 'dist/lambda/handler.mjs';
mkdirSync('dist/lambda', { recursive: true });

const result = await build({
  entryPoints: ['src/runtimes/lambda/handler.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  // The nodejs22.x runtime provides AWS SDK v3; better-sqlite3 (native) and the OpenAPI UI's
  // static files are never used on Lambda (SQLite is loaded only for a sqlite: store).
  external: ['@aws-sdk/*', 'better-sqlite3', '@fastify/swagger-ui'],
  // CommonJS dependencies call require() on Node built-ins; give the ESM bundle one.
  banner: { js: "import { createRequire as __paylogRequire } from 'node:module'; const require = __paylogRequire(import.meta.url);" },
  logLevel: 'warning',
});

writeFileSync('dist/lambda/meta.json', JSON.stringify(result.metafile));
const bytes = statSync(outfile).size;
console.log(`${outfile}: ${(bytes / 1024).toFixed(0)} KiB`);
