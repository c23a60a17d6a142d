// Bundles the Lambda handler into dist/lambda/ (handler.mjs exports `handler`; lazily loaded
// code goes to chunks beside it) and writes the OpenAPI document the bundle serves.
// Run after `npm run build` (it uses dist/ to generate the OpenAPI document).
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { openApiDocument } from './openapi-document.mjs';

const outdir = 'dist/lambda';
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const result = await build({
  entryPoints: { handler: 'src/runtimes/lambda/handler.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  // The nodejs22.x runtime provides AWS SDK v3; better-sqlite3 (native) and the OpenAPI UI
  // are never used on Lambda (SQLite is loaded only for a sqlite: store).
  external: ['@aws-sdk/*', 'better-sqlite3', '@fastify/swagger-ui', '@fastify/swagger'],
  // CommonJS dependencies call require() on Node built-ins; give the ESM bundle one.
  banner: { js: "import { createRequire as __paylogRequire } from 'node:module'; const require = __paylogRequire(import.meta.url);" },
  logLevel: 'warning',
});
writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));

// The OpenAPI document, generated from the same routes by the (non-bundled) app.
writeFileSync(join(outdir, 'openapi.json'), JSON.stringify(await openApiDocument()));

const total = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.mjs')).reduce((n, [f]) => n + statSync(f).size, 0);
console.log(`${outdir}/handler.mjs: ${(statSync(join(outdir, 'handler.mjs')).size / 1024).toFixed(0)} KiB; all chunks ${(total / 1024).toFixed(0)} KiB`);
