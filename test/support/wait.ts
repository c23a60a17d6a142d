/**
 * Waiting on a condition, never for a guessed time. A test that needs something to have happened
 * polls for that very thing; the deadline only fails the test when it never happens, so a slow,
 * busy machine makes the test slower, never red.
 */

/** How long a condition may take before the test fails: generous, it is reached only on a failure. */
export const WAIT_DEADLINE_MS = 20_000;
const POLL_MS = 10;

/** Resolves once `ready` holds, checking every few ms (for states only another process or the clock can change). */
export async function waitFor(what: string | (() => string), ready: () => boolean | Promise<boolean>, deadlineMs = WAIT_DEADLINE_MS): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await ready())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Resolves once the wall clock has passed `timeMs` (a lease's or a retry budget's end: time is
 * the condition itself, there is no event to wait on).
 */
export async function waitUntil(timeMs: number): Promise<void> {
  await waitFor(`the clock to pass ${new Date(timeMs).toISOString()}`, () => Date.now() > timeMs, Math.max(0, timeMs - Date.now()) + WAIT_DEADLINE_MS);
}
