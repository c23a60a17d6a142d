import cluster from 'node:cluster';
import { type PrometheusMetrics, createPrometheusMetrics } from '../adapters/metrics/prometheus.js';
import type { Config } from '../config/config.js';
import { PAYLOG_VERSION } from './services.js';

export type { PrometheusMetrics, ScrapeSources } from '../adapters/metrics/prometheus.js';

let workerMetrics: PrometheusMetrics | null = null;

/**
 * The Prometheus metrics of one `serve`. In a node:cluster worker there is exactly one per
 * process, answering the primary's scrapes from the moment this is first called (the worker
 * calls it before it starts its server, so a scrape never waits on a worker that is starting).
 */
export function serverMetrics(config: Config): PrometheusMetrics {
  if (!cluster.isWorker) return createPrometheusMetrics({ version: PAYLOG_VERSION, checkpointIntervalMs: config.checkpointIntervalMs });
  if (!workerMetrics) {
    workerMetrics = createPrometheusMetrics({ version: PAYLOG_VERSION, checkpointIntervalMs: config.checkpointIntervalMs });
    workerMetrics.answerClusterPrimary();
  }
  return workerMetrics;
}
