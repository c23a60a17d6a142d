import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { type Witness, addCheckpoint, latestCheckpoint } from '../../app/witness/add-checkpoint.js';
import { ADD_CHECKPOINT_BYTES_MAX } from '../../app/witness/request.js';
import { StoreUnavailableError } from '../../ports/store.js';

export interface WitnessAppOptions {
  witness: Witness;
  /** The submission and monitoring prefix: "" or a path such as "/witness". */
  prefix: string;
  logger: FastifyServerOptions['logger'];
}

const TEXT = 'text/plain; charset=utf-8';
/** tlog-witness: a 409 carries the witnessed size in this media type. */
export const TLOG_SIZE = 'text/x.tlog.size';

function text(reply: FastifyReply, status: number, body: string, type = TEXT): FastifyReply {
  return reply.code(status).type(type).send(body.endsWith('\n') ? body : `${body}\n`);
}

/**
 * The witness's HTTP interface (C2SP tlog-witness), built without listening: the server and
 * the tests use it. Every answer is plain text; a bad request gets its status and a short
 * reason, never a 500.
 */
export async function buildWitnessApp(options: WitnessAppOptions): Promise<FastifyInstance> {
  const { witness, prefix } = options;
  const app = Fastify({ logger: options.logger, bodyLimit: ADD_CHECKPOINT_BYTES_MAX, return503OnClosing: true });

  // The body is read as bytes whatever its Content-Type: the protocol names none.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler(async (err, request, reply) => {
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    if (status >= 400 && status < 500) return text(reply, status, status === 413 ? `body is larger than ${ADD_CHECKPOINT_BYTES_MAX} bytes` : 'bad request');
    if (err instanceof StoreUnavailableError) {
      request.log.error({ err }, 'witness store unavailable');
      return text(reply, 503, 'witness store unavailable');
    }
    request.log.error({ err }, 'request failed');
    return text(reply, 500, 'internal error');
  });
  app.setNotFoundHandler(async (_request, reply) => text(reply, 404, 'not found'));

  app.post(`${prefix}/add-checkpoint`, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const outcome = addCheckpoint(witness, body);
    switch (outcome.status) {
      case 200:
        request.log.info({ origin: outcome.origin, size: outcome.size }, 'checkpoint cosigned');
        return text(reply, 200, outcome.cosignature);
      case 409:
        return text(reply, 409, `${outcome.size}\n`, TLOG_SIZE);
      case 422:
        // A validly signed checkpoint that contradicts what the log showed before: the
        // operator of the witness should look at the evidence kept for it.
        request.log.error({ origin: outcome.origin, kind: outcome.evidence, reason: outcome.reason }, 'inconsistent checkpoint refused and kept as evidence');
        return text(reply, 422, outcome.reason);
      default:
        request.log.info({ status: outcome.status, origin: outcome.origin, reason: outcome.reason }, 'checkpoint refused');
        return text(reply, outcome.status, outcome.reason);
    }
  });

  app.get<{ Params: { originHash: string } }>(`${prefix}/:originHash/checkpoint`, async (request, reply) => {
    const note = latestCheckpoint(witness, request.params.originHash);
    return note === null ? text(reply, 404, 'no checkpoint cosigned for this origin') : text(reply, 200, note);
  });

  app.get(`${prefix}/healthz`, async (_request, reply) => text(reply, 200, 'ok'));
  return app;
}
