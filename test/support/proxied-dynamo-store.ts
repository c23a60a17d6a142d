import { afterAll, afterEach, beforeAll } from 'vitest';
import { createTables, openDynamoStore } from '../../src/adapters/store/dynamodb/index.js';
import type { Store } from '../../src/ports/store.js';
import { type DynamoProxy, startDynamoProxy } from './dynamodb-proxy.js';
import { dynamoEndpoint, freshPrefix } from './dynamodb.js';

export interface ProxiedStores {
  /** The file's fault proxy in front of the run's DynamoDB Local; it passes everything again after each test. */
  proxy(): DynamoProxy;
  /** Fresh tables, and a store that reaches them through the proxy. */
  freshStore(): Promise<Store>;
}

/**
 * Registers the hooks of a test file whose stores talk to DynamoDB Local through one fault
 * proxy: the proxy starts before the file's tests and stops after them, with every store.
 * `requestTimeoutMs` bounds each attempt at a request the proxy never answers.
 */
export function proxiedStores(name: string, requestTimeoutMs: number): ProxiedStores {
  let proxy: DynamoProxy | null = null;
  const opened: Store[] = [];
  beforeAll(async () => {
    proxy = await startDynamoProxy(dynamoEndpoint());
  });
  afterEach(() => {
    if (proxy) proxy.decide = () => 'pass';
  });
  afterAll(async () => {
    for (const store of opened) await store.close();
    await proxy?.close();
  });
  const started = (): DynamoProxy => {
    if (!proxy) throw new Error('the DynamoDB proxy starts in beforeAll');
    return proxy;
  };
  return {
    proxy: started,
    async freshStore() {
      const url = `dynamodb://${freshPrefix(name)}?endpoint=${started().endpoint}`;
      await createTables({ url });
      const store = await openDynamoStore({ url, requestTimeoutMs });
      opened.push(store);
      return store;
    },
  };
}
