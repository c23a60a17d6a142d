import { shellWord } from '../../../core/check-result.js';
import type { CallFailure } from './call-failure.js';
import type { TableFinding, TableInspection, TablesInspection } from './table-findings.js';
import type { DynamoLocation } from './url.js';

/**
 * The one-line messages of the table checks: each names the table (or the endpoint), says
 * what was found and what was expected, and ends with the command that fixes it. Pure, so
 * a test can read every message without AWS.
 */

/** Actions the CDK stack's function role is granted (infra/lib/paylog-stack.ts, DYNAMODB_ACTIONS). */
const STACK_GRANTED = new Set([
  'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem',
  'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive',
]);

/** The store URL with the region spelled out: the region is half of where a table is. */
export function storeUrlOf(location: DynamoLocation): string {
  return `dynamodb://${location.prefix}?region=${location.region}${location.endpoint === undefined ? '' : `&endpoint=${location.endpoint}`}`;
}

/** The endpoint the SDK calls: the given one, or AWS's regional one. */
export function endpointOf(location: DynamoLocation): string {
  return location.endpoint ?? `https://dynamodb.${location.region}.amazonaws.com${location.region.startsWith('cn-') ? '.cn' : ''}`;
}

export function migrateCommand(location: DynamoLocation): string {
  return `paylog migrate --store ${shellWord(storeUrlOf(location))}`;
}

export function doctorCommand(location: DynamoLocation): string {
  return `paylog doctor --store ${shellWord(storeUrlOf(location))}`;
}

function where(location: DynamoLocation): string {
  return `region ${location.region} (endpoint ${endpointOf(location)})`;
}

/** The aws CLI's flags to reach the same table. */
function awsFlags(location: DynamoLocation): string {
  return ` --region ${location.region}${location.endpoint === undefined ? '' : ` --endpoint-url ${location.endpoint}`}`;
}

function ttlCommand(name: string, location: DynamoLocation, enabled: boolean, attribute: string): string {
  return `aws dynamodb update-time-to-live --table-name ${name} --time-to-live-specification Enabled=${enabled},AttributeName=${attribute}${awsFlags(location)}`;
}

export function findingMessage(name: string, finding: TableFinding, location: DynamoLocation): string {
  const mismatch = `DynamoDB table ${name} exists but does not match its definition`;
  switch (finding.kind) {
    case 'table_missing':
      return `DynamoDB table ${name} was not found in ${where(location)}, where paylog expects it; tables are regional, so one created in another region is not seen here. Create it with: ${migrateCommand(location)}`;
    case 'table_not_active':
      return `DynamoDB table ${name} is ${finding.status}, expected ACTIVE; ${notActiveFix(name, finding.status, location)}`;
    case 'key_mismatch':
      return `${mismatch}: key is ${finding.found}, expected ${finding.expected}; a table's key cannot change in place, so the table must be recreated: back up its items, delete it, then run ${migrateCommand(location)}`;
    case 'index_missing':
      return `${mismatch}: index ${finding.index} is missing, expected ${finding.expected}; add it with: ${migrateCommand(location)}`;
    case 'index_mismatch':
      return `${mismatch}: index ${finding.index} is ${finding.found}, expected ${finding.expected}; an index cannot change in place: delete it with aws dynamodb update-table --table-name ${name} --global-secondary-index-updates '[{"Delete":{"IndexName":"${finding.index}"}}]'${awsFlags(location)}, then once it is gone run ${migrateCommand(location)}`;
    case 'index_not_active':
      return `DynamoDB table ${name}: index ${finding.index} is ${finding.status}, expected ACTIVE; wait until it is (aws dynamodb describe-table --table-name ${name}${awsFlags(location)} shows its IndexStatus), then try again`;
    case 'ttl_off':
      return finding.status === 'DISABLED'
        ? `DynamoDB table ${name} has TTL DISABLED, expected ENABLED on ${finding.attribute} (otherwise expired items are never deleted); enable it with: ${ttlCommand(name, location, true, finding.attribute)} (or ${migrateCommand(location)})`
        : `DynamoDB table ${name} has TTL ${finding.status}, expected ENABLED on ${finding.attribute}; once DynamoDB has finished disabling it (up to an hour), enable it with: ${ttlCommand(name, location, true, finding.attribute)}`;
    case 'ttl_other_attribute':
      return `DynamoDB table ${name} has TTL ENABLED on ${finding.found}, expected it on ${finding.attribute}; turn it off with ${ttlCommand(name, location, false, finding.found)}, then (DynamoDB allows the next change up to an hour later) on with ${ttlCommand(name, location, true, finding.attribute)}`;
    case 'ttl_unexpected':
      return `DynamoDB table ${name} has TTL ENABLED on ${finding.found}, expected it off (DynamoDB would delete every item whose ${finding.found} holds a past epoch time); turn it off with: ${ttlCommand(name, location, false, finding.found)}`;
  }
}

/** What to do about a table in each state other than ACTIVE or UPDATING. */
function notActiveFix(name: string, status: string, location: DynamoLocation): string {
  switch (status) {
    case 'DELETING':
      return `it is being deleted: once it is gone, create it again with ${migrateCommand(location)}`;
    case 'INACCESSIBLE_ENCRYPTION_CREDENTIALS':
      return "DynamoDB cannot use the table's KMS key: restore access to the key (its key policy, or enable it if disabled)";
    case 'ARCHIVING':
    case 'ARCHIVED':
      return 'it was archived after its KMS key stayed inaccessible: restore it from its archive backup';
    default:
      return `wait until it is (aws dynamodb wait table-exists --table-name ${name}${awsFlags(location)}), then try again`;
  }
}

/** A call about one table that failed (denied, throttled…). */
export function tableFailureMessage(name: string, failure: CallFailure, location: DynamoLocation): string {
  if (failure.kind === 'denied') {
    const grant = STACK_GRANTED.has(failure.action)
      ? "grant it (the CDK stack in infra/ grants it to the function's role)"
      : 'grant it to whoever runs paylog migrate (the CDK stack in infra/ creates the tables without it)';
    return `DynamoDB table ${name}: access denied to ${failure.action} (${failure.code}); expected the IAM policy of these credentials to allow ${failure.action} on the table: ${grant}`;
  }
  return `DynamoDB table ${name}: ${failure.action} failed (${failure.code}) in ${where(location)}; try again, and if it persists run ${doctorCommand(location)}`;
}

/** The endpoint did not answer, or refused the credentials: nothing about any table is known. */
export function endpointFailureMessage(failure: CallFailure, location: DynamoLocation): string {
  const endpoint = `DynamoDB endpoint ${endpointOf(location)} (region ${location.region})`;
  switch (failure.kind) {
    case 'unreachable':
      return `${endpoint} does not answer (${failure.code}); expected DynamoDB there: check the region and endpoint of --store (PAYLOG_STORE) and that this machine can reach it`;
    case 'not_dynamodb':
      return `${endpoint} answered, but not as DynamoDB (${failure.code}); expected the DynamoDB API there: check the endpoint of --store (PAYLOG_STORE)`;
    case 'credentials':
      return `${endpoint} rejected the AWS credentials (${failure.code}); expected a valid access key for this account and region: check AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (aws sts get-caller-identity shows whose they are)`;
    case 'no_credentials':
      return `No AWS credentials found to call DynamoDB in region ${location.region} (${failure.code}); expected AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the role of the machine or function`;
    default:
      return `${endpoint}: ${failure.action} failed (${failure.code}); try again, and if it persists run ${doctorCommand(location)}`;
  }
}

/** Every problem of one table, one message each (none: the table is as defined). */
export function tableMessages(inspection: TableInspection, location: DynamoLocation): string[] {
  const messages = inspection.findings.map((f) => findingMessage(inspection.name, f, location));
  if (inspection.failure !== null) messages.push(tableFailureMessage(inspection.name, inspection.failure, location));
  return messages;
}

/**
 * The one line a process stops with, or null when every table is as defined. When no table
 * of the prefix exists, that is said once (usually a wrong region or prefix, or no migrate yet).
 */
export function summaryLine(inspection: TablesInspection): string | null {
  const { location } = inspection;
  if (inspection.endpointFailure !== null) return endpointFailureMessage(inspection.endpointFailure, location);
  const missing = inspection.tables.filter((t) => t.findings.some((f) => f.kind === 'table_missing'));
  const first = missing[0];
  if (first !== undefined && missing.length === inspection.tables.length && missing.length > 1) {
    return `DynamoDB table ${first.name} was not found in ${where(location)}, where paylog expects it, nor were the other ${missing.length - 1} tables of prefix ${location.prefix}; tables are regional, so tables created in another region are not seen here. Create them with: ${migrateCommand(location)}`;
  }
  const messages = inspection.tables.flatMap((t) => tableMessages(t, location));
  if (messages.length === 0) return null;
  const more = messages.length - 1;
  return more === 0 ? messages[0] as string : `${messages[0]} (and ${more} more problem${more === 1 ? '' : 's'}: ${doctorCommand(location)} lists them)`;
}
