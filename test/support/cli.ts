import { expect } from 'vitest';
import { runPaylog, runPaylogAsync } from './process.js';

/**
 * The paylog command line as tests drive it, failing the test when a command that must succeed
 * does not. (Apart from process.ts, which the run's global setup loads, where vitest's expect
 * cannot be used.)
 */

/** The secret `paylog keys create` prints, alone on its last line; fails the test unless it exited 0. */
function secretOf(created: { status: number | null; stdout: string; stderr: string }): string {
  expect(created.status, created.stderr).toBe(0);
  const secret = created.stdout.trim().split('\n').pop() as string;
  expect(secret).toMatch(/^sk_/);
  return secret;
}

/** Creates an API key with `paylog keys create <args>` (a merchant key for acme by default) and returns its secret. */
export function createKeyWithCli(env: Record<string, string>, args: string[] = ['--merchant', 'acme']): string {
  return secretOf(runPaylog(['keys', 'create', ...args], env));
}

/** The same, without blocking the event loop. */
export async function createKeyWithCliAsync(env: Record<string, string>, args: string[] = ['--merchant', 'acme']): Promise<string> {
  return secretOf(await runPaylogAsync(['keys', 'create', ...args], env));
}

/**
 * A paylog command line bound to settings read when it runs (a test's fresh data dir): `run`
 * returns what the command did; `ok` fails the test unless it exits 0, and returns its stdout.
 */
export function commandLine(env: () => Record<string, string>): {
  run: (args: string[], extra?: Record<string, string>) => ReturnType<typeof runPaylog>;
  ok: (args: string[], extra?: Record<string, string>) => string;
} {
  const run = (args: string[], extra: Record<string, string> = {}): ReturnType<typeof runPaylog> => runPaylog(args, { ...env(), ...extra });
  return {
    run,
    ok(args, extra = {}) {
      const result = run(args, extra);
      expect(result.status, `paylog ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
      return result.stdout;
    },
  };
}
