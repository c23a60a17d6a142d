// The peer baseline of `npm run bench -- lambda-warm`: a payment intake Lambda written the way
// the Powertools for AWS Lambda (TypeScript) documentation shows. Per invocation it gives the
// payment a transaction ID, writes one structured audit log line, emits one EMF metric, and is
// idempotent on the Idempotency-Key header, its records in DynamoDB. It does not authenticate,
// validate the card, call a gateway or chain anything: it is the floor paylog is compared with.
// Not shipped; the Powertools packages are devDependencies.
//
// Settings, from the environment: IDEMPOTENCY_TABLE_NAME (partition key `id`, TTL attribute
// `expiration`); the DynamoDB endpoint, region and credentials as the AWS SDK reads them.
import { randomUUID } from 'node:crypto';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';

const SERVICE = 'payments-baseline';
// Created once per execution environment, as the Powertools docs advise: the client's
// connection pool and resolved credentials are reused by every warm invocation.
const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: 'PaymentsBaseline', serviceName: SERVICE });
const persistenceStore = new DynamoDBPersistenceLayer({ tableName: process.env.IDEMPOTENCY_TABLE_NAME });
const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'headers."Idempotency-Key"',
  // A payment without a key must not run unprotected.
  throwOnNoIdempotencyKey: true,
});

async function createPayment(event, context) {
  logger.addContext(context);
  const request = JSON.parse(event.body);
  const payment = {
    id: `txn_${randomUUID()}`, object: 'payment', status: 'succeeded',
    amount: request.amount, currency: String(request.currency).toUpperCase(),
    created: new Date().toISOString(),
  };
  // The audit line answers who, what, when (the logger's timestamp), where from and whether it worked.
  logger.info('payment.succeeded', {
    audit: { type: 'payment.succeeded', resource: payment.id, outcome: 'success', amount: payment.amount, currency: payment.currency },
    origin: event.requestContext?.identity?.sourceIp, requestId: event.requestContext?.requestId,
  });
  metrics.addMetric('PaymentsSucceeded', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  return { statusCode: 201, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payment) };
}

export const handler = makeIdempotent(createPayment, { persistenceStore, config: idempotency });
