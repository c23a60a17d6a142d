// The baseline of http-intake: a bare Fastify route in its own Node process that parses the
// same JSON body and answers a small JSON. Prints its port on stdout once listening.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/v1/payments', async (request, reply) => {
  const body = request.body;
  reply.code(201);
  return { id: 'txn_bare', object: 'payment', status: 'succeeded', amount: body.amount, currency: String(body.currency).toUpperCase() };
});
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
process.stdout.write(`${app.server.address().port}\n`);
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)); });
