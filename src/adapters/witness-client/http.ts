import type { WitnessAnswer, WitnessClient } from '../../ports/witness-client.js';

/**
 * The most of an answer read: cosignature lines are about 130 bytes each, a 409 a number;
 * anything longer is not a witness's answer, and is cut rather than buffered whole.
 */
export const WITNESS_ANSWER_BYTES_MAX = 16 * 1024;

/**
 * add-checkpoint over HTTP(S) with Node's fetch, whose agent keeps connections alive between
 * pushes (tlog-witness asks clients to). A timeout, or the caller's signal, aborts the request
 * and the body read.
 */
export function createHttpWitnessClient(): WitnessClient {
  return {
    async addCheckpoint(url: string, body: string, timeoutMs: number, signal?: AbortSignal): Promise<WitnessAnswer> {
      const timeout = AbortSignal.timeout(timeoutMs);
      const res = await fetch(`${url}/add-checkpoint`, {
        method: 'POST', body, signal: signal ? AbortSignal.any([timeout, signal]) : timeout, redirect: 'error',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
      return { status: res.status, contentType: res.headers.get('content-type'), body: await readCapped(res) };
    },
  };
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader();
  try {
    while (size < WITNESS_ANSWER_BYTES_MAX) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, WITNESS_ANSWER_BYTES_MAX).toString('utf8');
}
