import type { TestProject } from 'vitest/node';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../scripts/dynamodb-local.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:PORT` of the run's DynamoDB Local. */
    dynamoEndpoint: string;
  }
}

let local: DynamoDbLocal | null = null;

/** One in-memory DynamoDB Local for the whole run; every test uses tables of its own prefix. */
export async function setup(project: TestProject): Promise<void> {
  local = await startDynamoDbLocal();
  project.provide('dynamoEndpoint', local.endpoint);
}

export async function teardown(): Promise<void> {
  await local?.stop();
}
