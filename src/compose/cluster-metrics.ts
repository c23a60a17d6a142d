import { createClusterScrape } from '../adapters/metrics/prometheus.js';

/** What answers a scrape: the exposition text and its content type. */
export type Scrape = () => Promise<{ contentType: string; body: string }>;

/**
 * For a node:cluster primary: its workers' registries, aggregated. Loads prom-client alone,
 * neither a store nor a key (the primary opens none).
 */
export function clusterScrape(): Scrape {
  return createClusterScrape();
}
