import { once } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  /** Forward it and relay the answer. */
  | 'pass'
  /** Answer 500 InternalServerError without forwarding. */
  | 'error'
  /** Answer 400 ThrottlingException without forwarding. */
  | 'throttle'
  /**
   * Answer as DynamoDB does when another transaction holds the item, without forwarding: a
   * TransactionCanceledException with TransactionConflict reasons to a transaction, a
   * TransactionConflictException to a single-item call.
   */
  | 'conflict'
  /** Cut the connection without forwarding. */
  | 'drop-before'
  /** Forward it, let DynamoDB apply it, then cut the connection instead of answering. */
  | 'drop-after'
  /** Never answer (the connection stays open until the client gives up). */
  | 'hang'
  /**
   * Answer as AWS does when a policy says no (AccessDeniedException) or the credentials are
   * not valid (UnrecognizedClientException), with the message IAM sends, account and principal
   * included, so a test can check none of it reaches paylog's output. DynamoDB Local enforces no IAM.
   */
  | 'denied'
  | 'bad-credentials';

export interface ProxiedRequest {
  /** 1-based, counting every request the proxy has seen. */
  n: number;
  /** The DynamoDB action: PutItem, TransactWriteItems, Query… */
  action: string;
  /** The request's TableName, when it has one. */
  table: string;
  body: string;
}

export interface DynamoProxy {
  /** `http://127.0.0.1:PORT`, to use as the store's endpoint. */
  endpoint: string;
  /** Decides each request's fate; 'pass' unless set. */
  decide: (request: ProxiedRequest) => Fault;
  /** Every request seen, in order, with what was done to it. */
  readonly log: { n: number; action: string; fault: Fault }[];
  close(): Promise<void>;
}

const JSON_1_0 = 'application/x-amz-json-1.0';
/** The account IAM's refusals name. */
export const IAM_MESSAGE_ACCOUNT = '123456789012';

/**
 * An HTTP proxy in front of DynamoDB Local that fails chosen requests the ways AWS can:
 * a 500, throttling, a transaction conflict, or a connection cut before or after DynamoDB
 * applied the write. Listens on a free loopback port.
 */
export async function startDynamoProxy(target: string): Promise<DynamoProxy> {
  const upstream = new URL(target);
  const proxy: DynamoProxy = {
    endpoint: '',
    decide: () => 'pass',
    log: [],
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  let seen = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      seen += 1;
      const text = body.toString();
      const fault = proxy.decide({ n: seen, action, table: tableOf(text), body: text });
      proxy.log.push({ n: seen, action, fault });
      handle(fault, req, res, body, upstream, action);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

function handle(fault: Fault, req: IncomingMessage, res: ServerResponse, body: Buffer, upstream: URL, action: string): void {
  switch (fault) {
    case 'denied': {
      const table = tableOf(body.toString());
      return answer(res, 400, {
        __type: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException',
        message: `User: arn:aws:iam::${IAM_MESSAGE_ACCOUNT}:user/ops-alice is not authorized to perform: dynamodb:${action} on resource: `
          + `arn:aws:dynamodb:us-east-1:${IAM_MESSAGE_ACCOUNT}:table/${table} because no identity-based policy allows the dynamodb:${action} action`,
      });
    }
    case 'bad-credentials':
      return answer(res, 400, { __type: 'com.amazonaws.dynamodb.v20120810#UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
    case 'error':
      return answer(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'injected' });
    case 'throttle':
      return answer(res, 400, { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'injected' });
    case 'conflict':
      if (!String(req.headers['x-amz-target']).endsWith('.TransactWriteItems')) {
        return answer(res, 400, { __type: 'com.amazonaws.dynamodb.v20120810#TransactionConflictException', message: 'injected' });
      }
      return answer(res, 400, {
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
        CancellationReasons: transactItemCount(body).map(() => ({ Code: 'TransactionConflict', Message: 'injected' })),
      });
    case 'drop-before':
      req.socket.destroy();
      return;
    case 'hang':
      return;
    case 'pass':
    case 'drop-after':
      forward(req, res, body, upstream, fault === 'drop-after');
  }
}

function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, upstream: URL, dropAfter: boolean): void {
  const out = request({
    host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers,
  }, (answerFromUpstream) => {
    const chunks: Buffer[] = [];
    answerFromUpstream.on('data', (c: Buffer) => chunks.push(c));
    answerFromUpstream.on('end', () => {
      // DynamoDB has applied the request by now; the client never learns how it went.
      if (dropAfter) {
        req.socket.destroy();
        return;
      }
      res.writeHead(answerFromUpstream.statusCode ?? 500, answerFromUpstream.headers);
      res.end(Buffer.concat(chunks));
    });
  });
  out.on('error', () => req.socket.destroy());
  out.end(body);
}

function answer(res: ServerResponse, status: number, payload: Record<string, unknown>): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': JSON_1_0, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': 'injected' });
  res.end(text);
}

function tableOf(body: string): string {
  try {
    return String((JSON.parse(body || '{}') as { TableName?: unknown }).TableName ?? '');
  } catch {
    return '';
  }
}

function transactItemCount(body: Buffer): unknown[] {
  try {
    return (JSON.parse(body.toString()) as { TransactItems?: unknown[] }).TransactItems ?? [{}];
  } catch {
    return [{}];
  }
}
