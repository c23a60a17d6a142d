import type { TestProject } from 'vitest/node';
import { type PostgresCluster, startPostgresCluster } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the run's PostgreSQL cluster (database "postgres"). */
    postgresUrl: string;
  }
}

let cluster: PostgresCluster | null = null;

/** One throwaway PostgreSQL cluster for the whole run; tests create their own databases in it. */
export async function setup(project: TestProject): Promise<void> {
  cluster = await startPostgresCluster();
  project.provide('postgresUrl', cluster.url());
}

export async function teardown(): Promise<void> {
  await cluster?.destroy();
}
