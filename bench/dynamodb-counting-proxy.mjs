// A tiny HTTP proxy in front of DynamoDB Local that counts requests by action (the
// X-Amz-Target header) and the items they name by table, for the request-count pass of
// `bench/lambda-warm.mjs`. Only used for that pass: forwarding costs time of its own, so
// the timed passes talk to DynamoDB Local directly.
import { Agent, createServer, request } from 'node:http';
import { once } from 'node:events';

/** The table of every item one call reads or writes (batch and transaction calls name several). */
function tablesOf(action, input) {
  if (action === 'TransactWriteItems' || action === 'TransactGetItems') {
    return (input.TransactItems ?? []).map((item) => Object.values(item)[0]?.TableName ?? 'unknown');
  }
  if (action === 'BatchWriteItem' || action === 'BatchGetItem') {
    return Object.entries(input.RequestItems ?? {}).flatMap(([table, reqs]) => (Array.isArray(reqs) ? reqs : reqs.Keys ?? []).map(() => table));
  }
  return [input.TableName ?? 'unknown'];
}

/**
 * Starts the proxy on a free loopback port, forwarding to `target` (http://host:port).
 * Returns { endpoint, snapshot(), reset(), close() }; snapshot() gives, per action, the
 * requests and the items they read or write, also per table.
 */
export async function startCountingProxy(target) {
  const upstream = new URL(target);
  // Keep-alive upstream, as the SDK keeps its own connections to the proxy alive.
  const agent = new Agent({ keepAlive: true });
  let byAction = new Map();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = String(req.headers['x-amz-target'] ?? 'unknown').split('.').pop();
      const entry = byAction.get(action) ?? { requests: 0, items: 0, tables: {} };
      const tables = tablesOf(action, JSON.parse(body.toString('utf8') || '{}'));
      entry.requests++;
      entry.items += tables.length;
      for (const table of tables) entry.tables[table] = (entry.tables[table] ?? 0) + 1;
      byAction.set(action, entry);
      const out = request({
        host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent,
      }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      out.on('error', (err) => { res.destroy(err); });
      out.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    snapshot: () => Object.fromEntries(byAction),
    reset: () => { byAction = new Map(); },
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
