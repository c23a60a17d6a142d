// The OpenAPI document as `paylog serve` serves it, generated from the route schemas by the
// built app (dist/): used by `npm run openapi` and by the Lambda bundle.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function openApiDocument() {
  const { startServices } = await import('../dist/compose/services.js');
  const { loadConfig } = await import('../dist/config/config.js');
  const { buildHttpApp } = await import('../dist/runtimes/http/app.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'paylog-openapi-'));
  const services = await startServices(loadConfig({}, {
    PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dataDir, PAYLOG_CHECKPOINT_INTERVAL_MS: '0', PAYLOG_METRICS_PORT: '0',
  }), { role: 'build' });
  try {
    const app = await buildHttpApp({ ctx: services.ctx, rateLimitPerSecond: 0, logger: false });
    await app.ready();
    const document = app.swagger();
    await app.close();
    return document;
  } finally {
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
