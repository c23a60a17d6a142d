// The soak's PostgreSQL: bench/postgres-cluster.mjs's throwaway cluster (Debian's server
// binaries, run as the postgres user when root), whose stop and start make the restart fault.
import { startPostgresCluster } from '../bench/postgres-cluster.mjs';

export function startPostgres() {
  return startPostgresCluster({ prefix: 'paylog-soak-pg-' });
}
