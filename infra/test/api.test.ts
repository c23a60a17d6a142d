import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { API_STAGE_NAME, DEFAULT_API_THROTTLE, MIN_LOG_RETENTION_DAYS } from '../lib/paylog-stack.js';
import { TEST_PREFIX, flatten, synth } from './support.js';

const { stack, template, id } = synth({ throttle: { rateLimit: 40, burstLimit: 80 } });
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;
const apiId = id(stack.api);
const fnId = id(stack.function);
const accessLogId = id(stack.accessLogGroup);
const stages = Object.values(template.findResources('AWS::ApiGateway::Stage'));
const stage = stages[0]!.Properties as Record<string, unknown> & {
  StageName: string;
  TracingEnabled: boolean;
  MethodSettings: Record<string, unknown>[];
  AccessLogSetting: { DestinationArn: unknown; Format: string };
};

describe('the REST API', () => {
  it('is one regional REST API', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { Name: `${TEST_PREFIX}-api`, EndpointConfiguration: { Types: ['REGIONAL'] } });
  });

  it('proxies every path and method to the function (root ANY and {proxy+} ANY)', () => {
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{proxy+}', RestApiId: { Ref: apiId } });
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(2);
    for (const method of methods) {
      expect(method.Properties.HttpMethod).toBe('ANY');
      expect(method.Properties.Integration.Type).toBe('AWS_PROXY');
      expect(flatten(method.Properties.Integration.Uri)).toContain(`\${${fnId}.Arn}/invocations`);
    }
  });

  it(`has one stage, ${API_STAGE_NAME}`, () => {
    expect(stages).toHaveLength(1);
    expect(stage.StageName).toBe('live');
  });

  it('traces requests with X-Ray', () => {
    expect(stage.TracingEnabled).toBe(true);
  });

  it('throttles the whole stage, and never logs request bodies (card data)', () => {
    expect(stage.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        ThrottlingRateLimit: 40,
        ThrottlingBurstLimit: 80,
        DataTraceEnabled: false,
      }),
    ]);
    expect(stage.MethodSettings[0]!.LoggingLevel ?? 'OFF').toBe('OFF');
  });

  it('throttles at 100/s, bursts of 200, by default', () => {
    synth().template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: DEFAULT_API_THROTTLE.rateLimit, ThrottlingBurstLimit: DEFAULT_API_THROTTLE.burstLimit })],
    });
  });

  it('writes JSON access logs to their own log group', () => {
    expect(flatten(stage.AccessLogSetting.DestinationArn)).toBe(
      `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${${accessLogId}}`,
    );
    const format = JSON.parse(stage.AccessLogSetting.Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', ip: '$context.identity.sourceIp', status: '$context.status', requestTime: '$context.requestTime', httpMethod: '$context.httpMethod' });
  });

  it('keeps access logs at least a year, and retains them', () => {
    const group = resources[accessLogId]!;
    expect(group.Type).toBe('AWS::Logs::LogGroup');
    expect(group.Properties.RetentionInDays).toBeGreaterThanOrEqual(MIN_LOG_RETENTION_DAYS);
    expect(group.DeletionPolicy).toBe('Retain');
    expect(accessLogId).not.toBe(id(stack.functionLogGroup));
  });

  it("sets the account's API Gateway CloudWatch role (access logging needs it) and keeps it", () => {
    const accounts = Object.values(template.findResources('AWS::ApiGateway::Account'));
    expect(accounts).toHaveLength(1);
    const roleRef = accounts[0]!.Properties.CloudWatchRoleArn['Fn::GetAtt'][0] as string;
    expect(resources[roleRef]!.DeletionPolicy).toBe('Retain');
  });

  it('lets API Gateway (this API only) invoke the function', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions.length).toBeGreaterThan(0);
    for (const permission of permissions) {
      expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(flatten(permission.Properties.SourceArn)).toContain(`\${${apiId}}/`);
    }
  });
});

describe('outputs', () => {
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;

  it('give the API URL (the v1 stage)', () => {
    expect(flatten(outputs.ApiUrl!.Value)).toBe(
      `https://\${${apiId}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/\${${id(stack.api.deploymentStage)}}/`,
    );
  });

  it('give the table prefix, the alarm topic and the log group', () => {
    expect(outputs.TablePrefix!.Value).toBe(TEST_PREFIX);
    expect(outputs.AlarmTopicArn!.Value).toEqual({ Ref: id(stack.alarmTopic) });
    expect(outputs.LogGroupName!.Value).toEqual({ Ref: id(stack.functionLogGroup) });
  });
});
