import { expect } from 'vitest';
import { waitFor } from './wait.js';

export interface KeyAnswer {
  status: number;
  code?: string;
}

/**
 * Lists payments on a running server with `secret` until it is refused (401), as a client would
 * after its key was revoked: a process may trust a key it looked up for PAYLOG_API_KEY_CACHE_MS,
 * so the refusal comes within that, and nothing but 200 comes before it. Returns the refusal.
 */
export async function untilRefused(url: string, secret: string): Promise<KeyAnswer> {
  const answers: KeyAnswer[] = [];
  await waitFor(() => `${url} to refuse the key (answered ${answers.map((a) => a.status).join(', ')})`, async () => {
    const res = await fetch(`${url}/v1/payments?limit=1`, { headers: { authorization: `Bearer ${secret}` } });
    const body = (await res.json()) as { error?: { code?: string } };
    answers.push({ status: res.status, ...(body.error?.code !== undefined && { code: body.error.code }) });
    return res.status === 401;
  });
  expect(answers.slice(0, -1).filter((a) => a.status !== 200), 'answers before the refusal').toEqual([]);
  return answers.at(-1) as KeyAnswer;
}
