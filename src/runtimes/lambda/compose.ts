import awsLambdaFastify from '@fastify/aws-lambda';
import type { Context } from 'aws-lambda';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import { loadConfig } from '../../config/config.js';
import { type Services, startServices } from '../../compose/services.js';
import { createStdoutMirror } from '../../adapters/mirror/stdout.js';
import { createEmfMetrics } from '../../adapters/metrics/emf.js';
import { type WitnessEvent, logWitnessEvent } from '../../app/witness-push.js';
import type { Metrics } from '../../ports/metrics.js';
import { buildHttpApp } from '../http/app.js';
import { lambdaLogger } from './logger.js';
import { readLambdaSecret } from './secrets.js';

/** Lambda freezes between invocations, so the lease must outlast idle periods; the next invocation renews it. */
export const LAMBDA_STREAM_LEASE_MS = 2 * 60 * 60 * 1000;
export const LAMBDA_DATA_DIR = '/tmp/paylog';

export interface LambdaApp {
  config: Config;
  services: Services;
  app: FastifyInstance;
  proxy: (event: unknown, context: Context) => Promise<unknown>;
  metrics: Metrics;
  merchantId: string;
}

/**
 * Composes everything once per execution environment (at module scope, during init):
 * the DynamoDB store from PAYLOG_STORE, keys from Secrets Manager, audit records mirrored
 * to stdout (CloudWatch Logs), EMF metrics, and the same Fastify app as the server.
 */
export async function composeLambda(env: NodeJS.ProcessEnv = process.env): Promise<LambdaApp> {
  const settings: Record<string, string | undefined> = {
    PAYLOG_DATA_DIR: LAMBDA_DATA_DIR,
    PAYLOG_STREAM_LEASE_MS: String(LAMBDA_STREAM_LEASE_MS),
    PAYLOG_RATE_LIMIT: '0', // API Gateway throttles; a per-environment counter would mean little
    ...env,
  };
  if (env.PAYLOG_SIGNING_KEY_SECRET_ARN) {
    const secret = await readLambdaSecret(env.PAYLOG_SIGNING_KEY_SECRET_ARN);
    settings.PAYLOG_SIGNING_KEY = secret.signingKey;
    settings.PAYLOG_FINGERPRINT_KEY = secret.fingerprintKey;
    if (secret.previousSigningKey) settings.PAYLOG_PREVIOUS_SIGNING_KEY = secret.previousSigningKey;
  }
  const config = loadConfig({}, settings);
  const metrics = createEmfMetrics();
  // Conflicts found before the logger exists (sealing at start) are logged once it does.
  const early: string[] = [];
  let onConflict = (reason: string): void => { early.push(reason); };
  const earlyWitness: WitnessEvent[] = [];
  let onWitnessEvent = (event: WitnessEvent): void => { earlyWitness.push(event); };
  const services = await startServices(config, {
    role: 'lambda', mirror: createStdoutMirror(), metrics, onConflict: (reason) => onConflict(reason), onWitnessEvent: (event) => onWitnessEvent(event),
  });
  const app = await buildHttpApp({
    ctx: services.ctx,
    rateLimitPerSecond: config.rateLimitPerSecond,
    authFailuresPerMinute: config.authFailuresPerMinute,
    logger: lambdaLogger(config.logLevel, 'paylog'),
    requestIdHeader: 'x-request-id',
    docs: { kind: 'prebuilt', file: new URL('./openapi.json', import.meta.url) },
  });
  await app.ready();
  onConflict = (reason) => app.log.error({ reason, stream: services.ctx.writer.streamId }, 'journal conflict: records this writer did not write');
  for (const reason of early.splice(0)) onConflict(reason);
  onWitnessEvent = (event) => logWitnessEvent(app.log, event);
  for (const event of earlyWitness.splice(0)) onWitnessEvent(event);
  // retainStage: API Gateway's event.path is already stage-less; the proxy's stage stripping would eat our /v1 prefix.
  const proxy = awsLambdaFastify<unknown>(app, { decorateRequest: false, retainStage: true });
  return { config, services, app, proxy, metrics, merchantId: env.PAYLOG_LAMBDA_MERCHANT ?? '' };
}
