/**
 * The CloudWatch metrics the service emits in Embedded Metric Format. The CDK alarms import
 * these very names (infra/lib/metric-names.ts re-exports them), so a rename moves both.
 */
export const METRIC_NAMESPACE = 'Paylog';

/** The one dimension every metric carries (low cardinality: never a merchant or transaction). */
export const SERVICE_DIMENSION_NAME = 'service';
export const SERVICE_DIMENSION_VALUE = 'paylog';

export const METRIC_NAMES = {
  /** Count: payments that ended `succeeded`. */
  paymentsSucceeded: 'PaymentsSucceeded',
  /** Count: payments that ended `declined`. */
  paymentsDeclined: 'PaymentsDeclined',
  /** Count: payments that ended `failed` (gateway unavailable after retries). */
  paymentsFailed: 'PaymentsFailed',
  /** Count: payments answered `processing` (outcome unknown, left to reconciliation). */
  paymentsProcessing: 'PaymentsProcessing',
  /** Count: gateway attempts, the first and every retry, whatever their result. */
  gatewayAttempts: 'GatewayAttempts',
  /** Count: gateway attempts that timed out. */
  gatewayTimeouts: 'GatewayTimeouts',
  /** Count: gateway attempts answered 5xx / 429 (unavailable). */
  gatewayUnavailable: 'GatewayUnavailable',
  /** Count: gateway attempts answered with something unparseable. */
  gatewayMalformed: 'GatewayMalformed',
  /** Milliseconds: one gateway attempt's latency (one value per attempt). */
  gatewayLatency: 'GatewayLatency',
  /** Count: requests answered from the idempotency store. */
  idempotentReplays: 'IdempotentReplays',
  /** Count: Lambda execution environments initialised. */
  coldStart: 'ColdStart',
  /** Count: journal streams found holding records their writer did not write (tampering, or a bug). */
  journalConflicts: 'JournalConflicts',
  /**
   * Seconds: how old the newest journal checkpoint a witness cosigned is (one value per
   * witness per flush, the latest), under the extra dimension `witness` (its key name).
   */
  witnessCheckpointAge: 'WitnessCheckpointAgeSeconds',
} as const;

export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds';

/** The dimension, besides `service`, of the per-witness metric: the witness's key name. */
export const WITNESS_DIMENSION_NAME = 'witness';

/** The EMF unit of each metric. */
export const METRIC_UNITS: Readonly<Record<MetricName, MetricUnit>> = {
  PaymentsSucceeded: 'Count',
  PaymentsDeclined: 'Count',
  PaymentsFailed: 'Count',
  PaymentsProcessing: 'Count',
  GatewayAttempts: 'Count',
  GatewayTimeouts: 'Count',
  GatewayUnavailable: 'Count',
  GatewayMalformed: 'Count',
  GatewayLatency: 'Milliseconds',
  IdempotentReplays: 'Count',
  ColdStart: 'Count',
  JournalConflicts: 'Count',
  WitnessCheckpointAgeSeconds: 'Seconds',
};
