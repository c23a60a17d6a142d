import { pathToFileURL } from 'node:url';

/**
 * Settings that make a child `paylog serve` hold every request that wins its Idempotency-Key's
 * claim while `file` exists (hold-claims-preload.mjs), and the line it writes for each.
 */
export const HELD_LINE = 'paylog-test: claim held';

export function holdClaimsEnv(file: string): Record<string, string> {
  const preload = pathToFileURL(new URL('./hold-claims-preload.mjs', import.meta.url).pathname).href;
  return { NODE_OPTIONS: `--import ${preload}`, PAYLOG_TEST_HOLD_CLAIMS_FILE: file };
}

/** How many requests `output` (a server's) says were held. */
export function heldCount(output: string): number {
  return output.split(HELD_LINE).length - 1;
}
