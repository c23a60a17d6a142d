import { Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { TABLES, type TableName } from '../../src/adapters/store/dynamodb/tables.js';
import { DYNAMODB_ACTIONS, MIN_LOG_RETENTION_DAYS } from '../lib/paylog-stack.js';
import { METRIC_NAMESPACE, SERVICE_DIMENSION_VALUE } from '../lib/metric-names.js';
import { TEST_PREFIX, TEST_SECRET_NAME, asArray, flatten, policyStatements, synth } from './support.js';

const { stack, template, id } = synth({ journalName: 'paylog-test-journal' });
const fnId = id(stack.function);
const roleId = id(stack.function.role as unknown as { node: { defaultChild?: unknown } });
const logGroupId = id(stack.functionLogGroup);

interface CfnFunction {
  Properties: {
    Runtime: string;
    Architectures: string[];
    Handler: string;
    MemorySize: number;
    Timeout: number;
    Role: unknown;
    LoggingConfig?: { LogGroup?: unknown };
    Environment: { Variables: Record<string, unknown> };
  };
}
const fn = template.toJSON().Resources[fnId] as CfnFunction;
const env = fn.Properties.Environment.Variables;

describe('the Lambda function', () => {
  it('is the only function in the stack', () => {
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  it('runs on nodejs22.x or newer', () => {
    const match = /^nodejs(\d+)\.x$/.exec(fn.Properties.Runtime);
    expect(match, fn.Properties.Runtime).not.toBeNull();
    expect(Number(match?.[1])).toBeGreaterThanOrEqual(22);
  });

  it('runs on arm64', () => {
    expect(fn.Properties.Architectures).toEqual(['arm64']);
  });

  it('calls handler.handler (dist/lambda/handler.mjs exports handler)', () => {
    expect(fn.Properties.Handler).toBe('handler.handler');
  });

  it('has 512 MB and finishes before API Gateway gives up at 29 s', () => {
    expect(fn.Properties.MemorySize).toBe(512);
    expect(fn.Properties.Timeout).toBe(28);
  });

  it('reads its store from PAYLOG_STORE: dynamodb://<prefix>?region=<the stack region>', () => {
    expect(flatten(env.PAYLOG_STORE)).toBe(`dynamodb://${TEST_PREFIX}?region=\${AWS::Region}`);
  });

  it("gets the signing-key secret's ARN", () => {
    expect(flatten(env.PAYLOG_SIGNING_KEY_SECRET_ARN)).toBe(
      `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${TEST_SECRET_NAME}`,
    );
  });

  it('sets the journal name, source maps and the metrics service and namespace', () => {
    expect(env.PAYLOG_JOURNAL).toBe('paylog-test-journal');
    expect(env.NODE_OPTIONS).toBe('--enable-source-maps');
    expect(env.POWERTOOLS_SERVICE_NAME).toBe(SERVICE_DIMENSION_VALUE);
    expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe(METRIC_NAMESPACE);
  });

  it('defaults the journal name to the table prefix', () => {
    const other = synth();
    other.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PAYLOG_JOURNAL: TEST_PREFIX }) },
    });
  });

  it('carries no secret in its environment', () => {
    expect(Object.keys(env).filter((k) => /SIGNING_KEY$|FINGERPRINT_KEY|PASSWORD|TOKEN/.test(k))).toEqual([]);
  });
});

describe("the function's log group", () => {
  it('is attached to the function', () => {
    expect(fn.Properties.LoggingConfig?.LogGroup).toEqual({ Ref: logGroupId });
  });

  it(`keeps logs at least ${MIN_LOG_RETENTION_DAYS} days (PCI DSS 10.5.1) and is retained`, () => {
    const group = template.toJSON().Resources[logGroupId];
    expect(group.Type).toBe('AWS::Logs::LogGroup');
    expect(group.Properties.RetentionInDays).toBeGreaterThanOrEqual(MIN_LOG_RETENTION_DAYS);
    expect(group.DeletionPolicy).toBe('Retain');
    expect(group.UpdateReplacePolicy).toBe('Retain');
  });

  it('every log group in the stack keeps logs at least a year and is retained', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBe(2);
    for (const group of groups) {
      expect(group.Properties.RetentionInDays).toBeGreaterThanOrEqual(MIN_LOG_RETENTION_DAYS);
      expect(group.DeletionPolicy).toBe('Retain');
    }
  });

  it('refuses a retention shorter than a year', () => {
    expect(() => synth({ logRetention: logs.RetentionDays.SIX_MONTHS })).toThrow(/at least 365 days/);
  });
});

describe("the function's role (least privilege)", () => {
  const statements = policyStatements(template).filter((s) => s.roles.includes(`\${${roleId}}`));
  const tableArn = (key: TableName) => `\${${id(stack.tables[key])}.Arn}`;

  it('is the role the function runs as, assumable by Lambda only', () => {
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }] },
    });
  });

  it('has no managed policies (its logs permission is inline and scoped to its log group)', () => {
    const role = template.toJSON().Resources[roleId];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('has exactly three statements: logs, tables, secret', () => {
    expect(statements.map((s) => s.statement.Sid).sort()).toEqual(['PaylogTables', 'ReadSigningKey', 'WriteFunctionLogs']);
    for (const { statement } of statements) expect(statement.Effect).toBe('Allow');
  });

  it('may write only to its own log group', () => {
    const logsStatement = statements.find((s) => s.statement.Sid === 'WriteFunctionLogs')?.statement;
    expect(asArray(logsStatement?.Action).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(asArray(logsStatement?.Resource).map(flatten)).toEqual([`\${${logGroupId}.Arn}`]);
  });

  it('has exactly the DynamoDB actions it needs, on exactly the tables and their indexes', () => {
    const dynamo = statements.filter((s) => asArray(s.statement.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    const statement = dynamo[0]!.statement;
    expect(asArray(statement.Action).sort()).toEqual([...DYNAMODB_ACTIONS].sort());
    const wanted = (Object.keys(TABLES) as TableName[]).flatMap((key) =>
      TABLES[key].indexes.length > 0 ? [tableArn(key), `${tableArn(key)}/index/*`] : [tableArn(key)]);
    expect(asArray(statement.Resource).map(flatten).sort()).toEqual(wanted.sort());
  });

  it('has the DynamoDB actions the store uses', () => {
    expect([...DYNAMODB_ACTIONS].sort()).toEqual([
      'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive',
      'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem',
    ]);
  });

  it('may read the one signing-key secret and nothing else from Secrets Manager', () => {
    const secret = statements.filter((s) => asArray(s.statement.Action).some((a) => a.startsWith('secretsmanager:')));
    expect(secret).toHaveLength(1);
    expect(asArray(secret[0]!.statement.Action)).toEqual(['secretsmanager:GetSecretValue']);
    expect(asArray(secret[0]!.statement.Resource).map(flatten)).toEqual([
      `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${TEST_SECRET_NAME}-??????`,
    ]);
  });

  it('no statement anywhere in the stack has a "*" resource or a wildcard action', () => {
    for (const { statement } of policyStatements(template)) {
      for (const resource of asArray(statement.Resource).map(flatten)) {
        expect(resource).not.toBe('*');
        // The only wildcards: index/* under a table, the secret's random suffix, nothing else.
        if (resource.includes('*')) expect(resource).toMatch(/^\$\{[A-Za-z0-9]+\.Arn\}\/index\/\*$/);
      }
      for (const action of asArray(statement.Action)) expect(action).not.toContain('*');
    }
  });

  it('no DynamoDB statement uses a "*" or non-table resource', () => {
    const tableIds = new Set(Object.values(stack.tables).map((t) => id(t)));
    for (const { statement } of policyStatements(template)) {
      if (!asArray(statement.Action).some((a) => a.startsWith('dynamodb:'))) continue;
      for (const resource of asArray(statement.Resource)) {
        const text = flatten(resource);
        const match = /^\$\{([A-Za-z0-9]+)\.Arn\}(\/index\/\*)?$/.exec(text);
        expect(match, text).not.toBeNull();
        expect(tableIds.has(match![1]!)).toBe(true);
      }
    }
  });
});

describe('settings', () => {
  it('rejects a table prefix the store URL would reject', () => {
    expect(() => synth({ tablePrefix: 'bad prefix' })).toThrow(/tablePrefix/);
  });

  it('rejects a journal name the service would reject', () => {
    expect(() => synth({ tablePrefix: 'Paylog_Prod' })).toThrow(/journalName/);
  });

  it('rejects a secret name that a partial ARN cannot tell from a complete one', () => {
    expect(() => synth({ signingKeySecretName: 'paylog/key-abc123' })).toThrow(/six characters/);
  });
});
