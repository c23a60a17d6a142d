import { inject } from 'vitest';
import { DYNAMODB_LOCAL_ENV } from '../../scripts/dynamodb-local.mjs';

/** Credentials and region DynamoDB Local accepts; set for this process on import, pass them to children. */
export const DYNAMO_ENV: Readonly<Record<string, string>> = DYNAMODB_LOCAL_ENV;
Object.assign(process.env, DYNAMO_ENV);
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;

/** The run's DynamoDB Local (started once by test/support/dynamodb-global.ts). */
export function dynamoEndpoint(): string {
  return inject('dynamoEndpoint');
}

let prefixes = 0;

/** A table prefix no other test uses, so every test starts with empty tables. */
export function freshPrefix(name = 'paylog'): string {
  prefixes += 1;
  return `${name}-${process.pid}-${prefixes}`;
}

/** `dynamodb://PREFIX?endpoint=…` on the run's DynamoDB Local, with a fresh prefix unless one is given. */
export function dynamoUrl(prefix = freshPrefix()): string {
  return `dynamodb://${prefix}?endpoint=${dynamoEndpoint()}`;
}
