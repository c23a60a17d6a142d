// replay: req/s of replays of one Idempotency-Key (same body) against `paylog serve`, beside
// the http-intake figure of the same `npm run bench` (or fresh-key runs on the same server
// when run alone).
import { CONNECTIONS, DURATION_S, RUNS, fmt, load, paymentBody, show, startPaylog, stats } from './lib.mjs';
import { shared } from './http-intake.mjs';

export async function run() {
  const server = await startPaylog();
  const key = 'bench-replay-key';
  const headers = { authorization: `Bearer ${server.secret}`, 'idempotency-key': key };
  const body = paymentBody();
  const replays = [];
  const fresh = [];
  try {
    const first = await fetch(`${server.url}/v1/payments`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
    if (first.status !== 201) throw new Error(`first payment answered ${first.status}`);
    await load({ url: `${server.url}/v1/payments`, body, headers, duration: 1 });
    for (let i = 0; i < RUNS; i++) {
      replays.push(await load({ url: `${server.url}/v1/payments`, body, headers }));
      if (!shared.intakeRps) fresh.push(await load({ url: `${server.url}/v1/payments`, body, headers: { authorization: headers.authorization }, freshKey: true }));
      process.stderr.write(`replay run ${i + 1}: ${fmt(replays[i].rps)} req/s p99 ${replays[i].p99} ms codes ${JSON.stringify(replays[i].statusCodes)}\n`);
    }
  } finally {
    await server.stop();
  }
  const rs = stats(replays.map((r) => r.rps));
  const p99 = stats(replays.map((r) => r.p99));
  const intake = shared.intakeRps ?? stats(fresh.map((r) => r.rps));
  const bad = replays.reduce((n, r) => n + r.errors + r.non2xx, 0);
  const codes = [...new Set(replays.flatMap((r) => Object.keys(r.statusCodes)))].join(', ');
  return [
    '## Idempotent replay',
    '',
    `The same body with one \`Idempotency-Key\` whose payment already succeeded, ${CONNECTIONS} connections, ${RUNS} runs of ${DURATION_S} s`,
    `after a 1 s warm-up, on a fresh \`paylog serve\` (same settings as http-intake). Compared with the http-intake req/s of ${shared.intakeRps ? 'the same `npm run bench`' : 'fresh-key runs on the same server'}.`,
    '',
    '| figure | replays | fresh keys (http-intake) | ratio |',
    '|---|---|---|---|',
    `| req/s | ${show(rs)} | ${show(intake)} | **${(rs.med / intake.med).toFixed(2)}×** |`,
    `| p99 latency | ${show(p99, 0, ' ms')} | | |`,
    `| status codes / errors + non-2xx | ${codes} / ${bad} | | |`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
