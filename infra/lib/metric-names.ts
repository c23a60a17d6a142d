/**
 * The CloudWatch Embedded Metric Format names the service emits, taken from the service's own
 * definitions (like the table definitions), so an alarm can never watch a metric the service
 * does not write under that name and unit.
 */
export {
  METRIC_NAMESPACE, METRIC_NAMES, METRIC_UNITS, SERVICE_DIMENSION_NAME, SERVICE_DIMENSION_VALUE,
  type MetricName, type MetricUnit,
} from '../../src/adapters/metrics/metric-names.js';
