import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
// The service's own table definitions (dependency-free): the store code, `paylog migrate` and
// this stack all build from the same objects, so the deployed keys cannot drift from the code.
import { type KeyAttribute, TABLES, type TableDefinition, type TableName, tableName } from '../../src/adapters/store/dynamodb/tables.js';
import { METRIC_NAMES, METRIC_NAMESPACE, SERVICE_DIMENSION_NAME, SERVICE_DIMENSION_VALUE } from './metric-names.js';

/** Where `npm run build:lambda` (in the repository root) writes the handler bundle. */
export const DEFAULT_LAMBDA_BUNDLE_DIR = fileURLToPath(new URL('../../dist/lambda/', import.meta.url));

/**
 * The API Gateway stage. The routes already carry the API version (/v1/…), so the stage is
 * named for the deployment: a payment is POST {ApiUrl}v1/payments (…/live/v1/payments); a
 * custom domain with a base path mapping of the stage to "/" gives https://DOMAIN/v1/payments.
 */
export const API_STAGE_NAME = 'live';

/** PCI DSS 10.5.1: audit log history kept for at least 12 months. */
export const MIN_LOG_RETENTION_DAYS = 365;

/** DynamoDB actions the function needs: the store's reads and conditional writes, and the start-up table check. */
export const DYNAMODB_ACTIONS = [
  'dynamodb:GetItem',
  // A starting writer reads the lapsed streams it found in byOpenLease in one request.
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  // Every journal commit is one TransactWriteItems of Put, Update and ConditionCheck items; the
  // transaction itself needs no action of its own, each item needs its own.
  'dynamodb:ConditionCheckItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:DescribeTable',
  // `paylog doctor` and the start-up check read each table's TTL setting.
  'dynamodb:DescribeTimeToLive',
] as const;

export interface ApiThrottle {
  /** Steady-state requests per second across the stage. */
  rateLimit: number;
  /** Burst bucket size. */
  burstLimit: number;
}

export const DEFAULT_API_THROTTLE: ApiThrottle = { rateLimit: 100, burstLimit: 200 };

export interface PaylogStackProps extends StackProps {
  /** Every table is `${tablePrefix}-${suffix}`; also the store URL's prefix. */
  tablePrefix: string;
  /**
   * Name of the Secrets Manager secret holding `{"signingKey": PEM, "fingerprintKey": base64,
   * "previousSigningKey"?: PEM}`. Created by the operator outside the stack, so the private
   * key never passes through CloudFormation.
   */
  signingKeySecretName: string;
  /** Subscribed to the alarm topic when given (the subscription must be confirmed from the mail). */
  alarmEmail?: string;
  /** PAYLOG_JOURNAL, the journal name every record carries. Default: the table prefix. */
  journalName?: string;
  /** The handler's code. Default: the prebuilt bundle in dist/lambda (`npm run build:lambda`). */
  lambdaCode?: lambda.Code;
  /** API Gateway stage throttling. Default: 100 requests/s, bursts of 200. */
  throttle?: ApiThrottle;
  /** Retention of the function's and the access logs; at least one year. Default: ONE_YEAR. */
  logRetention?: logs.RetentionDays;
}

const TABLE_PREFIX_PATTERN = /^[A-Za-z0-9_.-]+$/;
const JOURNAL_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{0,62}$/;
const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const TABLE_NAME_MAX = 255;

/** The prebuilt handler bundle as Lambda code, or a clear error when it has not been built. */
export function lambdaBundleCode(dir: string = DEFAULT_LAMBDA_BUNDLE_DIR): lambda.Code {
  if (!existsSync(join(dir, 'handler.mjs'))) {
    throw new Error(`${join(dir, 'handler.mjs')} does not exist: run \`npm ci && npm run build:lambda\` in the repository root first`);
  }
  // meta.json is esbuild's build metadata, not needed at run time.
  return lambda.Code.fromAsset(dir, { exclude: ['meta.json'] });
}

function validate(props: PaylogStackProps, journalName: string, retention: logs.RetentionDays): void {
  const longestSuffix = Math.max(...Object.values(TABLES).map((t) => t.suffix.length));
  if (!TABLE_PREFIX_PATTERN.test(props.tablePrefix) || props.tablePrefix.length + 1 + longestSuffix > TABLE_NAME_MAX) {
    throw new Error(`tablePrefix ${JSON.stringify(props.tablePrefix)}: letters, digits, "_", "-" or "." only`);
  }
  if (!JOURNAL_NAME_PATTERN.test(journalName)) {
    throw new Error(`journalName ${JSON.stringify(journalName)}: lowercase letters, digits, "." or "-" (at most 63); set it explicitly`);
  }
  if (!SECRET_NAME_PATTERN.test(props.signingKeySecretName)) {
    throw new Error(`signingKeySecretName ${JSON.stringify(props.signingKeySecretName)} is not a Secrets Manager secret name`);
  }
  // The function gets the secret's partial ARN (name without the random suffix); Secrets Manager
  // cannot tell such an ARN from a complete one when the name itself ends like a suffix.
  if (/-[A-Za-z0-9]{6}$/.test(props.signingKeySecretName)) {
    throw new Error(`signingKeySecretName ${JSON.stringify(props.signingKeySecretName)} must not end with "-" and six characters`);
  }
  if (retention < MIN_LOG_RETENTION_DAYS) {
    throw new Error(`logRetention must be at least ${MIN_LOG_RETENTION_DAYS} days (PCI DSS 10.5.1), got ${retention}`);
  }
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  return { name: key.name, type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER };
}

/** "gatewayLedger" -> "GatewayLedger": stable logical IDs (a change would replace a named, retained table). */
function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export class PaylogStack extends Stack {
  readonly tables: Record<TableName, dynamodb.Table>;
  readonly function: lambda.Function;
  readonly functionLogGroup: logs.LogGroup;
  readonly accessLogGroup: logs.LogGroup;
  readonly api: apigw.LambdaRestApi;
  readonly alarmTopic: sns.Topic;
  readonly alarms: Record<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: PaylogStackProps) {
    super(scope, id, props);
    const prefix = props.tablePrefix;
    const journalName = props.journalName ?? prefix;
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const throttle = props.throttle ?? DEFAULT_API_THROTTLE;
    validate(props, journalName, retention);

    // ---- DynamoDB: one table per TABLES entry, exactly as the code defines it.
    const tables = {} as Record<TableName, dynamodb.Table>;
    for (const [key, definition] of Object.entries(TABLES) as [TableName, TableDefinition][]) {
      const table = new dynamodb.Table(this, `${pascal(key)}Table`, {
        tableName: tableName(prefix, key),
        partitionKey: attribute(definition.partitionKey),
        ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        // The journal and the payments are the audit trail: deleting the stack must not delete them.
        removalPolicy: RemovalPolicy.RETAIN,
        ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
      });
      for (const index of definition.indexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: attribute(index.partitionKey),
          ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
          projectionType: index.projection === 'KEYS_ONLY' ? dynamodb.ProjectionType.KEYS_ONLY : dynamodb.ProjectionType.ALL,
        });
      }
      tables[key] = table;
    }
    this.tables = tables;

    // ---- The function's log group: audit records (JSON lines), EMF metrics, operational logs.
    this.functionLogGroup = new logs.LogGroup(this, 'FunctionLogGroup', {
      logGroupName: `/paylog/${prefix}/function`,
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ---- The signing-key secret, created by the operator; only its name is known here.
    const signingKeySecret = secretsmanager.Secret.fromSecretNameV2(this, 'SigningKeySecret', props.signingKeySecretName);

    // ---- Least-privilege role, written out rather than granted, so every statement is visible.
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `paylog ${prefix}: the API function`,
    });
    // What AWSLambdaBasicExecutionRole gives, but only on this function's log group (which exists,
    // so no logs:CreateLogGroup) instead of on every log group in the account.
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'WriteFunctionLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.functionLogGroup.logGroupArn],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'PaylogTables',
      actions: [...DYNAMODB_ACTIONS],
      resources: Object.entries(TABLES).flatMap(([key, definition]) => {
        const arn = tables[key as TableName].tableArn;
        return definition.indexes.length > 0 ? [arn, `${arn}/index/*`] : [arn];
      }),
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'ReadSigningKey',
      actions: ['secretsmanager:GetSecretValue'],
      // A name-referenced secret's ARN ends in "-" and six random characters; `??????` matches
      // exactly those six, so this is the one secret of that name and no other.
      resources: [`${signingKeySecret.secretArn}-??????`],
    }));

    // ---- The function.
    this.function = new lambda.Function(this, 'Function', {
      description: `paylog ${prefix}: the HTTP API (API Gateway REST) and direct invocations`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      code: props.lambdaCode ?? lambdaBundleCode(),
      handler: 'handler.handler',
      memorySize: 512,
      // API Gateway gives up at 29 s; finish (and journal the outcome) before it does.
      timeout: Duration.seconds(28),
      role,
      logGroup: this.functionLogGroup,
      environment: {
        PAYLOG_STORE: `dynamodb://${prefix}?region=${Aws.REGION}`,
        PAYLOG_SIGNING_KEY_SECRET_ARN: signingKeySecret.secretArn,
        PAYLOG_JOURNAL: journalName,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_DIMENSION_VALUE,
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      },
    });

    // ---- API Gateway REST API: every path to the function.
    this.accessLogGroup = new logs.LogGroup(this, 'ApiAccessLogGroup', {
      logGroupName: `/paylog/${prefix}/api-access`,
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api = new apigw.LambdaRestApi(this, 'Api', {
      restApiName: `${prefix}-api`,
      description: `paylog ${prefix}`,
      handler: this.function,
      proxy: true,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Access logging needs the account's API Gateway CloudWatch role. It is one per account
      // and region: kept when the stack is deleted, since other APIs may rely on it.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: API_STAGE_NAME,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        tracingEnabled: true,
        // Never log request bodies: a payment request carries a card number and CVC.
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify({
          requestId: apigw.AccessLogField.contextRequestId(),
          extendedRequestId: apigw.AccessLogField.contextExtendedRequestId(),
          requestTime: apigw.AccessLogField.contextRequestTime(),
          ip: apigw.AccessLogField.contextIdentitySourceIp(),
          userAgent: apigw.AccessLogField.contextIdentityUserAgent(),
          httpMethod: apigw.AccessLogField.contextHttpMethod(),
          path: apigw.AccessLogField.contextPath(),
          protocol: apigw.AccessLogField.contextProtocol(),
          status: apigw.AccessLogField.contextStatus(),
          responseLength: apigw.AccessLogField.contextResponseLength(),
          responseLatency: apigw.AccessLogField.contextResponseLatency(),
          integrationLatency: apigw.AccessLogField.contextIntegrationLatency(),
          integrationStatus: apigw.AccessLogField.contextIntegrationStatus(),
          errorMessage: apigw.AccessLogField.contextErrorMessage(),
          xrayTraceId: apigw.AccessLogField.contextXrayTraceId(),
        })),
      },
    });

    // ---- Alarms -> SNS.
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `paylog ${prefix} alarms`,
      // No topic policy (so no enforceSSL): a resource policy replaces SNS's default one, and the
      // alarms would need an explicit cloudwatch.amazonaws.com allow to publish. Alarm messages
      // carry no card data.
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const action = new cloudwatchActions.SnsAction(this.alarmTopic);
    const period = Duration.minutes(5);
    const paylogMetric = (metricName: string, label?: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { [SERVICE_DIMENSION_NAME]: SERVICE_DIMENSION_VALUE },
        statistic: cloudwatch.Stats.SUM,
        period,
        ...(label ? { label } : {}),
      });

    // Each alarm is named (and its construct ID is) the Prometheus alert for the same condition in
    // deploy/prometheus/paylog-rules.yml, so one runbook (docs/operations.md) serves both.
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const alarm = (name: string, description: string, metric: cloudwatch.IMetric, threshold: number,
      comparisonOperator: cloudwatch.ComparisonOperator, treatMissingData: cloudwatch.TreatMissingData): void => {
      const created = new cloudwatch.Alarm(this, name, {
        alarmName: `${prefix}-${name}`,
        alarmDescription: `${description} Runbook: docs/operations.md#${name.toLowerCase()}`,
        metric,
        threshold,
        comparisonOperator,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      alarms[name] = created;
    };
    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const over = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    // Counts: the service emits a metric only when something happens, so "no data" means
    // "none happened" — not breaching. Missing data must not leave an alarm in ALARM either.
    const noneHappened = cloudwatch.TreatMissingData.NOT_BREACHING;

    alarm('PaylogPaymentsFailed',
      'At least one payment failed (gateway error or retries exhausted) in 5 minutes. Find it with the "payments by outcome" query.',
      paylogMetric(METRIC_NAMES.paymentsFailed), 1, atLeast, noneHappened);

    alarm('PaylogPaymentFailureRate',
      'More than 5% of the payments that ended in 5 minutes failed.',
      new cloudwatch.MathExpression({
        // FILL(…, 0): an outcome with no data point in the period counts as zero instead of
        // dropping the whole expression's data point.
        expression: '100 * FILL(failed, 0) / (FILL(succeeded, 0) + FILL(declined, 0) + FILL(failed, 0) + FILL(processing, 0))',
        usingMetrics: {
          succeeded: paylogMetric(METRIC_NAMES.paymentsSucceeded),
          declined: paylogMetric(METRIC_NAMES.paymentsDeclined),
          failed: paylogMetric(METRIC_NAMES.paymentsFailed),
          processing: paylogMetric(METRIC_NAMES.paymentsProcessing),
        },
        label: 'Failed payments (%)',
        period,
      }),
      5, over,
      // No payments in the period leaves the rate undefined (0/0), not high: not breaching.
      // Every failure is already caught by the count alarm above, so nothing hides here.
      noneHappened);

    alarm('PaylogPaymentsDeclinedSpike',
      'At least 50 payments declined in 5 minutes: card testing, or an issuer or gateway problem.',
      paylogMetric(METRIC_NAMES.paymentsDeclined), 50, atLeast, noneHappened);

    alarm('PaylogGatewayUnavailable',
      'More than 10% of the gateway attempts (retries included) in 5 minutes were answered 5xx/429 or timed out: the gateway is failing before retries run out.',
      new cloudwatch.MathExpression({
        expression: '100 * (FILL(unavailable, 0) + FILL(timeouts, 0)) / attempts',
        usingMetrics: {
          attempts: paylogMetric(METRIC_NAMES.gatewayAttempts),
          unavailable: paylogMetric(METRIC_NAMES.gatewayUnavailable),
          timeouts: paylogMetric(METRIC_NAMES.gatewayTimeouts),
        },
        label: 'Gateway attempts unavailable or timed out (%)',
        period,
      }),
      // No attempts in the period leaves no data point: not breaching.
      10, over, noneHappened);

    alarm('PaylogJournalConflicts',
      'The journal writer found records it did not write, or refused to seal a tampered stream: someone changed the journal tables. Read the "journal conflict" log lines, then run paylog verify with the published key.',
      paylogMetric(METRIC_NAMES.journalConflicts), 1, atLeast, noneHappened);

    alarm('PaylogFunctionErrors',
      'The function threw or timed out at least once in 5 minutes.',
      this.function.metricErrors({ period, statistic: cloudwatch.Stats.SUM }), 1, atLeast, noneHappened);

    alarm('PaylogFunctionThrottles',
      'The function was throttled at least once in 5 minutes (concurrency limit reached).',
      this.function.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }), 1, atLeast, noneHappened);

    alarm('PaylogHttp5xxRate',
      `More than 1% of the API's requests (stage ${API_STAGE_NAME}) in 5 minutes were answered 5XX.`,
      // 5XXError is 1 or 0 per request, so its average is the fraction answered 5XX.
      this.api.deploymentStage.metricServerError({ period, statistic: cloudwatch.Stats.AVERAGE }), 0.01, over, noneHappened);
    this.alarms = alarms;

    // ---- Logs Insights saved queries on the function's log group (audit records are JSON lines:
    // v, journal, stream, seq, type, resource, outcome, ts).
    new logs.QueryDefinition(this, 'PaymentsByOutcomeQuery', {
      queryDefinitionName: `paylog/${prefix}/payments by outcome`,
      queryString: new logs.QueryString({
        filterStatements: ['type like /^payment\\./'],
        statsStatements: ['count(*) by type'],
      }),
      logGroups: [this.functionLogGroup],
    });
    new logs.QueryDefinition(this, 'TransactionTrailQuery', {
      queryDefinitionName: `paylog/${prefix}/a transaction's trail`,
      queryString: new logs.QueryString({
        fields: ['ts', 'journal', 'stream', 'seq', 'type', 'outcome', 'resource'],
        // Replace txn_… with the transaction ID before running.
        filterStatements: ["resource = 'txn_…'"],
        sort: 'seq asc',
      }),
      logGroups: [this.functionLogGroup],
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: `The API stage's base URL (the service's routes follow it: ${API_STAGE_NAME}/payments)` });
    new CfnOutput(this, 'TablePrefix', { value: prefix, description: 'DynamoDB table prefix (PAYLOG_STORE=dynamodb://PREFIX)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'SNS topic the alarms notify' });
    new CfnOutput(this, 'LogGroupName', { value: this.functionLogGroup.logGroupName, description: "The function's log group (audit records, metrics, logs)" });
    new CfnOutput(this, 'AccessLogGroupName', { value: this.accessLogGroup.logGroupName, description: "API Gateway's access log group" });
    new CfnOutput(this, 'FunctionName', { value: this.function.functionName, description: 'The Lambda function' });
  }
}
