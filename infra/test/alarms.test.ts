import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES, METRIC_NAMESPACE, METRIC_UNITS, SERVICE_DIMENSION_NAME, SERVICE_DIMENSION_VALUE } from '../lib/metric-names.js';
import { TEST_PREFIX, synth } from './support.js';

const { stack, template, id } = synth({ alarmEmail: 'oncall@example.com' });
const topicRef = { Ref: id(stack.alarmTopic) };
const fnRef = { Ref: id(stack.function) };
const serviceDimension = [{ Name: SERVICE_DIMENSION_NAME, Value: SERVICE_DIMENSION_VALUE }];

interface CfnAlarm {
  AlarmName: string;
  AlarmDescription?: string;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: unknown[];
  Statistic?: string;
  Period?: number;
  Metrics?: { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] }; Period: number; Stat: string } }[];
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  TreatMissingData?: string;
  AlarmActions?: unknown[];
  OKActions?: unknown[];
}
const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties as CfnAlarm);
function alarm(name: string): CfnAlarm {
  const found = alarms.find((a) => a.AlarmName === `${TEST_PREFIX}-${name}`);
  if (!found) throw new Error(`no alarm ${TEST_PREFIX}-${name}; have ${alarms.map((a) => a.AlarmName).join(', ')}`);
  return found;
}

describe('the metric names', () => {
  it('are the EMF names the service emits', () => {
    expect(METRIC_NAMESPACE).toBe('Paylog');
    expect([SERVICE_DIMENSION_NAME, SERVICE_DIMENSION_VALUE]).toEqual(['service', 'paylog']);
    expect(Object.values(METRIC_NAMES).sort()).toEqual([
      'ColdStart', 'GatewayAttempts', 'GatewayLatency', 'GatewayMalformed', 'GatewayTimeouts', 'GatewayUnavailable', 'IdempotentReplays', 'JournalConflicts',
      'PaymentsDeclined', 'PaymentsFailed', 'PaymentsProcessing', 'PaymentsSucceeded', 'WitnessCheckpointAgeSeconds',
    ]);
    expect(METRIC_UNITS.GatewayLatency).toBe('Milliseconds');
    expect(METRIC_UNITS.WitnessCheckpointAgeSeconds).toBe('Seconds');
    expect(Object.entries(METRIC_UNITS).filter(([, unit]) => unit !== 'Count').map(([name]) => name)).toEqual(['GatewayLatency', 'WitnessCheckpointAgeSeconds']);
  });
});

/** The Prometheus alerts (deploy/prometheus/paylog-rules.yml), read without a YAML parser. */
const PROMETHEUS_ALERTS = [...readFileSync(new URL('../../deploy/prometheus/paylog-rules.yml', import.meta.url), 'utf8')
  .matchAll(/^ {6}- alert: (\S+)$/gm)].map((m) => m[1]!);
/** Conditions only Prometheus can see: the service emits no EMF metric for them (docs/operations.md says why). */
const PROMETHEUS_ONLY = ['PaylogCheckpointStale', 'PaylogJournalWriteErrors', 'PaylogReadinessDisagreement'];
/** Conditions of the Lambda platform, which a server has no counterpart for. */
const CLOUDWATCH_ONLY = ['PaylogFunctionErrors', 'PaylogFunctionThrottles'];

describe('alarms', () => {
  it('are eight, each notifying the topic on ALARM and on OK, on one 5-minute period', () => {
    expect(alarms.map((a) => a.AlarmName).sort()).toEqual([
      'PaylogFunctionErrors', 'PaylogFunctionThrottles', 'PaylogGatewayUnavailable', 'PaylogHttp5xxRate', 'PaylogJournalConflicts',
      'PaylogPaymentFailureRate', 'PaylogPaymentsDeclinedSpike', 'PaylogPaymentsFailed',
    ].map((n) => `${TEST_PREFIX}-${n}`));
    for (const a of alarms) {
      expect(a.AlarmActions, a.AlarmName).toEqual([topicRef]);
      expect(a.OKActions, a.AlarmName).toEqual([topicRef]);
      expect(a.EvaluationPeriods, a.AlarmName).toBe(1);
      expect(a.DatapointsToAlarm, a.AlarmName).toBe(1);
      expect(a.TreatMissingData, a.AlarmName).toBe('notBreaching');
    }
  });

  it('carry the names of the Prometheus alerts for the same conditions, and point at their runbook', () => {
    const names = alarms.map((a) => a.AlarmName.slice(`${TEST_PREFIX}-`.length));
    expect(PROMETHEUS_ALERTS.length).toBeGreaterThan(0);
    expect(names.filter((n) => !CLOUDWATCH_ONLY.includes(n)).sort()).toEqual(PROMETHEUS_ALERTS.filter((n) => !PROMETHEUS_ONLY.includes(n)).sort());
    for (const n of CLOUDWATCH_ONLY) expect(names).toContain(n);
    for (const n of PROMETHEUS_ONLY) expect(PROMETHEUS_ALERTS).toContain(n);
    for (const a of alarms) {
      const name = a.AlarmName.slice(`${TEST_PREFIX}-`.length);
      expect(a.AlarmDescription, name).toMatch(new RegExp(` Runbook: docs/operations\\.md#${name.toLowerCase()}$`));
    }
  });

  it('failed payments: Paylog/PaymentsFailed (service=paylog), Sum over 5 min ≥ 1', () => {
    expect(alarm('PaylogPaymentsFailed')).toMatchObject({
      Namespace: 'Paylog', MetricName: METRIC_NAMES.paymentsFailed, Dimensions: serviceDimension,
      Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
    });
  });

  it('failure rate: failed / (succeeded + declined + failed + processing) over 5 min > 5%', () => {
    const a = alarm('PaylogPaymentFailureRate');
    expect(a).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    expect(a.MetricName).toBeUndefined();
    const expression = a.Metrics?.find((m) => m.Expression !== undefined);
    expect(expression?.ReturnData).toBe(true);
    expect(expression?.Expression).toBe('100 * FILL(failed, 0) / (FILL(succeeded, 0) + FILL(declined, 0) + FILL(failed, 0) + FILL(processing, 0))');
    const inputs = Object.fromEntries((a.Metrics ?? []).filter((m) => m.MetricStat).map((m) => [m.Id, m]));
    expect(Object.keys(inputs).sort()).toEqual(['declined', 'failed', 'processing', 'succeeded']);
    const names = { succeeded: METRIC_NAMES.paymentsSucceeded, declined: METRIC_NAMES.paymentsDeclined, failed: METRIC_NAMES.paymentsFailed, processing: METRIC_NAMES.paymentsProcessing };
    for (const [metricId, metricName] of Object.entries(names)) {
      expect(inputs[metricId]).toEqual({
        Id: metricId,
        ReturnData: false,
        MetricStat: { Metric: { Namespace: 'Paylog', MetricName: metricName, Dimensions: serviceDimension }, Period: 300, Stat: 'Sum' },
      });
    }
  });

  it('journal conflict: Paylog/JournalConflicts Sum over 5 min ≥ 1', () => {
    expect(alarm('PaylogJournalConflicts')).toMatchObject({
      Namespace: 'Paylog', MetricName: METRIC_NAMES.journalConflicts, Dimensions: serviceDimension,
      Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
    });
  });

  it('declined spike: Paylog/PaymentsDeclined Sum over 5 min ≥ 50', () => {
    expect(alarm('PaylogPaymentsDeclinedSpike')).toMatchObject({
      Namespace: 'Paylog', MetricName: METRIC_NAMES.paymentsDeclined, Dimensions: serviceDimension,
      Statistic: 'Sum', Period: 300, Threshold: 50, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
    });
  });

  it.each([
    ['PaylogFunctionErrors', 'Errors'],
    ['PaylogFunctionThrottles', 'Throttles'],
  ])('%s: AWS/Lambda %s of this function, Sum over 5 min ≥ 1', (name, metricName) => {
    expect(alarm(name)).toMatchObject({
      Namespace: 'AWS/Lambda', MetricName: metricName, Dimensions: [{ Name: 'FunctionName', Value: fnRef }],
      Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
    });
  });

  it('gateway unavailable: (GatewayUnavailable + GatewayTimeouts) / GatewayAttempts over 5 min > 10%', () => {
    const a = alarm('PaylogGatewayUnavailable');
    expect(a).toMatchObject({ Threshold: 10, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    const expression = a.Metrics?.find((m) => m.Expression !== undefined);
    expect(expression?.ReturnData).toBe(true);
    expect(expression?.Expression).toBe('100 * (FILL(unavailable, 0) + FILL(timeouts, 0)) / attempts');
    const inputs = Object.fromEntries((a.Metrics ?? []).filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat]));
    const names = { attempts: METRIC_NAMES.gatewayAttempts, unavailable: METRIC_NAMES.gatewayUnavailable, timeouts: METRIC_NAMES.gatewayTimeouts };
    expect(Object.keys(inputs).sort()).toEqual(Object.keys(names).sort());
    for (const [metricId, metricName] of Object.entries(names)) {
      expect(inputs[metricId]).toEqual({ Metric: { Namespace: 'Paylog', MetricName: metricName, Dimensions: serviceDimension }, Period: 300, Stat: 'Sum' });
    }
  });

  it('HTTP 5xx rate: AWS/ApiGateway 5XXError of this API and stage, Average over 5 min > 0.01', () => {
    expect(alarm('PaylogHttp5xxRate')).toMatchObject({
      Namespace: 'AWS/ApiGateway', MetricName: '5XXError',
      Dimensions: [{ Name: 'ApiName', Value: `${TEST_PREFIX}-api` }, { Name: 'Stage', Value: { Ref: id(stack.api.deploymentStage) } }],
      Statistic: 'Average', Period: 300, Threshold: 0.01, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching',
    });
  });
});

describe('the alarm topic', () => {
  it('is one SNS topic with the optional email subscription', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: topicRef });
  });

  it('has no subscription without an alarm email', () => {
    synth().template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('has no resource policy, so CloudWatch may publish to it under SNS’s default policy', () => {
    template.resourceCountIs('AWS::SNS::TopicPolicy', 0);
  });
});

describe('Logs Insights saved queries', () => {
  const queries = Object.values(template.findResources('AWS::Logs::QueryDefinition')).map((q) => q.Properties as { Name: string; QueryString: string; LogGroupNames: unknown[] });
  const logGroupRef = { Ref: id(stack.functionLogGroup) };
  const byName = (name: string) => queries.find((q) => q.Name === `paylog/${TEST_PREFIX}/${name}`);

  it('are two, both on the function log group', () => {
    expect(queries).toHaveLength(2);
    for (const q of queries) expect(q.LogGroupNames).toEqual([logGroupRef]);
  });

  it('"payments by outcome" counts payment.* audit records by type', () => {
    expect(byName('payments by outcome')?.QueryString).toBe('filter type like /^payment\\./\n| stats count(*) by type');
  });

  it('"a transaction\'s trail" lists one resource\'s records in sequence order', () => {
    const q = byName("a transaction's trail")?.QueryString ?? '';
    expect(q).toContain("| filter resource = 'txn_…'");
    expect(q).toMatch(/\| sort seq asc$/);
    expect(q).toMatch(/^fields ts, journal, stream, seq, type, outcome, resource\n/);
  });
});
