#!/usr/bin/env node
/**
 * The CDK app. Settings come from CDK context (`-c name=value`, or cdk.context.json / cdk.json):
 *
 *   tablePrefix           DynamoDB table prefix                      (default "paylog")
 *   signingKeySecretName  Secrets Manager secret with the keys       (default "paylog/signing-key")
 *   alarmEmail            address subscribed to the alarm topic      (default: none)
 *   journalName           PAYLOG_JOURNAL                             (default: the table prefix)
 *   stackName             CloudFormation stack name                  (default "Paylog")
 *   lambdaBundleDir       directory holding handler.mjs              (default ../dist/lambda)
 *   apiRateLimit, apiBurstLimit   API Gateway stage throttling       (default 100, 200)
 *
 * The stack is environment-agnostic and makes no lookups: `cdk synth` works offline, and
 * `cdk deploy` takes the account and region from the AWS credentials in use.
 */
import { App } from 'aws-cdk-lib';
import { DEFAULT_API_THROTTLE, DEFAULT_LAMBDA_BUNDLE_DIR, PaylogStack, lambdaBundleCode } from '../lib/paylog-stack.js';

const app = new App();

function setting(name: string): string | undefined {
  const value: unknown = app.node.tryGetContext(name);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

function positiveNumber(name: string, fallback: number): number {
  const raw = setting(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`context ${name}: a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

const tablePrefix = setting('tablePrefix') ?? 'paylog';
const journalName = setting('journalName');
const alarmEmail = setting('alarmEmail');

new PaylogStack(app, setting('stackName') ?? 'Paylog', {
  description: `paylog (${tablePrefix}): payments API with a tamper-evident audit journal`,
  tablePrefix,
  signingKeySecretName: setting('signingKeySecretName') ?? 'paylog/signing-key',
  ...(alarmEmail ? { alarmEmail } : {}),
  ...(journalName ? { journalName } : {}),
  lambdaCode: lambdaBundleCode(setting('lambdaBundleDir') ?? DEFAULT_LAMBDA_BUNDLE_DIR),
  throttle: {
    rateLimit: positiveNumber('apiRateLimit', DEFAULT_API_THROTTLE.rateLimit),
    burstLimit: positiveNumber('apiBurstLimit', DEFAULT_API_THROTTLE.burstLimit),
  },
});

app.synth();
