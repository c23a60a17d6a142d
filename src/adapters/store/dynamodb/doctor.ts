import { type CheckResult, fail, ok, skip } from '../../../core/check-result.js';
import { inspectTables } from './check-tables.js';
import { endpointFailureMessage, endpointOf, tableMessages } from './table-messages.js';
import { TABLES } from './tables.js';
import { parseDynamoUrl } from './url.js';

/**
 * `paylog doctor` on DynamoDB: one row for the endpoint (it answers, the credentials are
 * accepted), then one per table (exists, keys, indexes, TTL, describe rights). Throws
 * DynamoUrlError for a URL it cannot parse.
 */
export async function dynamoDoctor(url: string): Promise<CheckResult[]> {
  const location = parseDynamoUrl(url);
  const inspection = await inspectTables(location);
  const where = `${endpointOf(location)}, region ${location.region}`;
  if (inspection.endpointFailure !== null) {
    return [
      fail('endpoint', endpointFailureMessage(inspection.endpointFailure, location)),
      ...inspection.tables.map((t) => skip(`table ${t.name}`, 'not checked: the endpoint could not be used')),
    ];
  }
  return [
    ok('endpoint', `${where}: answered`),
    ...inspection.tables.map((t) => {
      const problems = tableMessages(t, location);
      if (problems.length > 0) return fail(`table ${t.name}`, problems.join(' | also: '));
      const definition = TABLES[t.table];
      const indexes = definition.indexes.length;
      const ttl = 'ttlAttribute' in definition ? `, TTL on ${definition.ttlAttribute}` : '';
      return ok(`table ${t.name}`, `ACTIVE, key${indexes === 0 ? '' : ` and ${indexes} index${indexes === 1 ? '' : 'es'}`} as defined${ttl}`);
    }),
  ];
}
