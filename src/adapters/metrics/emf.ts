import type { AttemptResultName, Metrics } from '../../ports/metrics.js';
import type { PaymentStatus } from '../../core/payment.js';
import { redactCardNumbers } from '../../core/redact.js';
import { writeFullySync } from '../mirror/write-sync.js';
import {
  METRIC_NAMES, METRIC_NAMESPACE, METRIC_UNITS, type MetricName, type MetricUnit,
  SERVICE_DIMENSION_NAME, SERVICE_DIMENSION_VALUE, WITNESS_DIMENSION_NAME,
} from './metric-names.js';

export interface EmfMetricsOptions {
  /** CloudWatch namespace. Default 'Paylog'. */
  namespace?: string;
  /** The value of the one dimension, `service`. Default 'paylog'. */
  service?: string;
  /** Receives each EMF document as one line, without the trailing newline. Default: fs.writeSync to fd 1, newline added. */
  write?: (line: string) => void;
  /** The document's _aws.Timestamp. Default Date.now. */
  clock?: () => number;
}

/** CloudWatch Embedded Metric Format limits (specification, "Metric directive"). */
export const EMF_MAX_METRICS_PER_DIRECTIVE = 100;
export const EMF_MAX_VALUES_PER_METRIC = 100;
/** Witnesses whose checkpoint age is kept between flushes; more are not recorded (paylog takes at most 16). */
export const EMF_WITNESSES_MAX = 16;

export interface EmfMetricValue {
  name: string;
  unit: MetricUnit;
  /** One value, or several samples (at most EMF_MAX_VALUES_PER_METRIC). */
  value: number | number[];
}

export interface EmfDocumentInput {
  namespace: string;
  timestamp: number;
  /** Dimension name → value; every metric of the document carries all of them (one dimension set). */
  dimensions: Readonly<Record<string, string>>;
  metrics: readonly EmfMetricValue[];
}

/**
 * One EMF document: `_aws` metadata (Timestamp, and CloudWatchMetrics directives of at most
 * 100 metrics each, all with the same dimension set), the dimension values and metric values
 * as top-level members. Pure; throws on input the format does not allow.
 */
export function emfDocument(input: EmfDocumentInput): Record<string, unknown> {
  const dimensionNames = Object.keys(input.dimensions).map(redactCardNumbers);
  const directives: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: MetricUnit }[] }[] = [];
  const doc: Record<string, unknown> = {};
  // Dimension values are labels CloudWatch keeps and indexes: masked like every other sink's text.
  for (const [name, value] of Object.entries(input.dimensions)) doc[redactCardNumbers(name)] = redactCardNumbers(value);
  for (let i = 0; i < input.metrics.length; i += EMF_MAX_METRICS_PER_DIRECTIVE) {
    const chunk = input.metrics.slice(i, i + EMF_MAX_METRICS_PER_DIRECTIVE);
    directives.push({
      Namespace: input.namespace,
      Dimensions: [dimensionNames],
      Metrics: chunk.map((m) => ({ Name: m.name, Unit: m.unit })),
    });
  }
  for (const metric of input.metrics) {
    if (metric.name === '_aws' || metric.name in doc) throw new Error(`EMF: metric name "${metric.name}" collides with another member`);
    if (Array.isArray(metric.value) && (metric.value.length === 0 || metric.value.length > EMF_MAX_VALUES_PER_METRIC)) {
      throw new Error(`EMF: metric "${metric.name}" has ${metric.value.length} values (1–${EMF_MAX_VALUES_PER_METRIC} allowed)`);
    }
    doc[metric.name] = metric.value;
  }
  return { _aws: { Timestamp: input.timestamp, CloudWatchMetrics: directives }, ...doc };
}

const OUTCOME_METRIC: Readonly<Record<PaymentStatus, MetricName>> = {
  succeeded: METRIC_NAMES.paymentsSucceeded,
  declined: METRIC_NAMES.paymentsDeclined,
  failed: METRIC_NAMES.paymentsFailed,
  processing: METRIC_NAMES.paymentsProcessing,
};

const ATTEMPT_RESULT_METRIC: Readonly<Partial<Record<AttemptResultName, MetricName>>> = {
  timeout: METRIC_NAMES.gatewayTimeouts,
  unavailable: METRIC_NAMES.gatewayUnavailable,
  malformed: METRIC_NAMES.gatewayMalformed,
};

/** Emission order: the order of METRIC_NAMES (the per-witness metric goes in documents of its own). */
const ORDER: readonly MetricName[] = Object.values(METRIC_NAMES).filter((name) => name !== METRIC_NAMES.witnessCheckpointAge);

/**
 * Metrics as CloudWatch Embedded Metric Format on stdout (Lambda ships the line to CloudWatch
 * Logs, which extracts the metrics). Counts are summed until flush(); gateway latencies are
 * kept as samples, and the 100th sample flushes at once so no array exceeds the format's limit.
 * flush() writes one line, or nothing when nothing was collected. The only dimension is
 * `service`: no transaction, merchant or key ID ever reaches a metric. The one exception is
 * the witnesses' checkpoint age, which also has a `witness` dimension (a configured witness's
 * name): one more line per witness, with its latest age, since a document holds one value
 * per dimension.
 */
export function createEmfMetrics(options: EmfMetricsOptions = {}): Metrics {
  const namespace = options.namespace ?? METRIC_NAMESPACE;
  const service = options.service ?? SERVICE_DIMENSION_VALUE;
  const clock = options.clock ?? Date.now;
  const write = options.write ?? ((line: string): void => writeFullySync(1, Buffer.from(`${line}\n`, 'utf8'), { maxBlockedMs: 1_000 }));
  const counts = new Map<MetricName, number>();
  const samples = new Map<MetricName, number[]>();
  const witnessAgesMs = new Map<string, number>();

  const count = (name: MetricName): void => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
  };

  function flush(): void {
    flushWitnessAges();
    if (counts.size === 0 && samples.size === 0) return;
    const metrics: EmfMetricValue[] = [];
    for (const name of ORDER) {
      const total = counts.get(name);
      const values = samples.get(name);
      if (total !== undefined) metrics.push({ name, unit: METRIC_UNITS[name], value: total });
      else if (values !== undefined && values.length > 0) metrics.push({ name, unit: METRIC_UNITS[name], value: values.length === 1 ? values[0] as number : values });
    }
    counts.clear();
    samples.clear();
    if (metrics.length === 0) return;
    try {
      write(JSON.stringify(emfDocument({ namespace, timestamp: clock(), dimensions: { [SERVICE_DIMENSION_NAME]: service }, metrics })));
    } catch {
      // Metrics are best effort: a failed write must never fail the request that produced them.
    }
  }

  function flushWitnessAges(): void {
    const name = METRIC_NAMES.witnessCheckpointAge;
    for (const [witness, ageMs] of witnessAgesMs) {
      try {
        write(JSON.stringify(emfDocument({
          namespace, timestamp: clock(), dimensions: { [SERVICE_DIMENSION_NAME]: service, [WITNESS_DIMENSION_NAME]: witness },
          metrics: [{ name, unit: METRIC_UNITS[name], value: Math.round(ageMs) / 1000 }],
        })));
      } catch {
        // Best effort, as below.
      }
    }
    witnessAgesMs.clear();
  }

  const sample = (name: MetricName, value: number): void => {
    if (!Number.isFinite(value)) return;
    let values = samples.get(name);
    if (!values) samples.set(name, (values = []));
    values.push(Math.max(0, value));
    if (values.length >= EMF_MAX_VALUES_PER_METRIC) flush();
  };

  return {
    paymentOutcome(status: PaymentStatus): void {
      const name = OUTCOME_METRIC[status];
      if (name) count(name);
    },
    // What CloudWatch has no EMF metric for is seen elsewhere on AWS (API Gateway's request
    // metrics, the function's logs, DynamoDB's own metrics): no-ops here.
    gatewayRetry: () => undefined,
    idempotencyConflict: () => undefined,
    reconciliation: () => undefined,
    journalCommit: () => undefined,
    journalWriteError: () => undefined,
    storeError: () => undefined,
    httpRequest: () => undefined,
    rateLimited: () => undefined,
    authFailure: () => undefined,
    gatewayAttempt(result: AttemptResultName, latencyMs: number): void {
      count(METRIC_NAMES.gatewayAttempts);
      const byResult = ATTEMPT_RESULT_METRIC[result];
      if (byResult) count(byResult);
      sample(METRIC_NAMES.gatewayLatency, latencyMs);
    },
    idempotentReplay: () => count(METRIC_NAMES.idempotentReplays),
    coldStart: () => count(METRIC_NAMES.coldStart),
    journalConflict: () => count(METRIC_NAMES.journalConflicts),
    witnessCheckpointAge(witness: string, ageMs: number): void {
      if (!Number.isFinite(ageMs) || (!witnessAgesMs.has(witness) && witnessAgesMs.size >= EMF_WITNESSES_MAX)) return;
      witnessAgesMs.set(witness, Math.max(0, ageMs));
    },
    flush,
  };
}
