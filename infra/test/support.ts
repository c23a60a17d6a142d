import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll } from 'vitest';
import { PaylogStack, type PaylogStackProps } from '../lib/paylog-stack.js';

/** Every temporary directory a test file makes lives under one, removed when the file is done. */
const TEMP_ROOT = mkdtempSync(join(tmpdir(), 'paylog-infra-test-'));
afterAll(() => rmSync(TEMP_ROOT, { recursive: true, force: true }));

export function tempDir(name: string): string {
  return mkdtempSync(join(TEMP_ROOT, `${name}-`));
}

export const INFRA_DIR = fileURLToPath(new URL('..', import.meta.url));

/** cdk.json's context (the feature flags), so tests synthesize exactly what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(INFRA_DIR, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return cdkJson.context;
}

/** A stand-in for dist/lambda: a directory with a handler.mjs exporting `handler`. */
export function fakeBundleDir(): string {
  const dir = tempDir('bundle');
  writeFileSync(join(dir, 'handler.mjs'), 'export const handler = async () => ({ statusCode: 200, body: "{}" });\n');
  writeFileSync(join(dir, 'meta.json'), '{}\n');
  return dir;
}

export const TEST_PREFIX = 'paylog-test';
export const TEST_SECRET_NAME = 'paylog/test/signing-key';

export interface Synthesized {
  app: App;
  stack: PaylogStack;
  template: Template;
  /** The logical ID of a construct's CloudFormation resource. */
  id(element: CfnElement | { node: { defaultChild?: unknown } }): string;
}

export function synth(props: Partial<PaylogStackProps> = {}): Synthesized {
  const app = new App({ context: cdkJsonContext(), outdir: tempDir('cdk-out') });
  const stack = new PaylogStack(app, 'PaylogTest', {
    tablePrefix: TEST_PREFIX,
    signingKeySecretName: TEST_SECRET_NAME,
    lambdaCode: lambda.Code.fromAsset(fakeBundleDir()),
    ...props,
  });
  const template = Template.fromStack(stack);
  const id = (element: CfnElement | { node: { defaultChild?: unknown } }): string => {
    const cfn = 'logicalId' in element ? element : (element.node.defaultChild as CfnElement);
    return stack.getLogicalId(cfn);
  };
  return { app, stack, template, id };
}

/**
 * Renders a CloudFormation value as a string: {Ref: X} -> ${X}, {Fn::GetAtt: [X, A]} -> ${X.A},
 * Fn::Join joined, so that ARNs built from tokens can be compared as text.
 */
export function flatten(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Ref' in v) return `\${${String(v.Ref)}}`;
    if ('Fn::GetAtt' in v) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
    if ('Fn::Sub' in v) return String(v['Fn::Sub']);
  }
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

export function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** Every statement of every inline IAM policy in the template, with the roles it is attached to. */
export function policyStatements(template: Template): { roles: string[]; statement: Statement }[] {
  const policies = template.findResources('AWS::IAM::Policy') as Record<string, { Properties: { Roles: unknown[]; PolicyDocument: { Statement: Statement[] } } }>;
  return Object.values(policies).flatMap((policy) =>
    policy.Properties.PolicyDocument.Statement.map((statement) => ({ roles: policy.Properties.Roles.map(flatten), statement })));
}
