/**
 * A scripted stand-in for fetch, for the client's unit tests: each call takes the next answer
 * (a Response, or an Error thrown as a dropped connection would be) and records the request.
 */

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type ScriptedAnswer = Response | Error;

export function scriptedFetch(answers: ScriptedAnswer[]): { fetch: (request: Request) => Promise<Response>; requests: SeenRequest[] } {
  const requests: SeenRequest[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    requests.push({ method: request.method, url: request.url, headers: Object.fromEntries(request.headers), body: await request.text() });
    const answer = answers[requests.length - 1];
    // An answer no client retries: a client that asks more often than scripted stops here, and its test fails on the count.
    if (answer === undefined) return new Response(`fake fetch: no answer scripted for request ${requests.length}`, { status: 418 });
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { fetch, requests };
}

/** A JSON answer as paylog sends it: with a Request-Id, and the given headers. */
export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** What fetch throws when the peer closes the connection before answering (undici's shape). */
export function droppedConnection(): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
}

/** A sleep that returns at once and remembers every wait asked for. */
export function recordedSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { sleep: async (ms) => { waits.push(ms); }, waits };
}
