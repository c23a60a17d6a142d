import { once } from 'node:events';
import { type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * DynamoDB Local enforces no IAM. This proxy in front of it answers chosen calls as AWS
 * does when a policy or the credentials say no (AccessDeniedException,
 * UnrecognizedClientException), with the message IAM would send, account and principal
 * included, so a test can check none of it reaches the output. Everything else is forwarded.
 */
export interface IamProxy {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  close(): Promise<void>;
}

/** The error name to answer a call with (its action, its table), or null to forward it. */
export type Refusal = (action: string, table: string) => 'AccessDeniedException' | 'UnrecognizedClientException' | null;

export const IAM_MESSAGE_ACCOUNT = '123456789012';

export async function startIamProxy(target: string, refuse: Refusal): Promise<IamProxy> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      const table = String((JSON.parse(body.toString() || '{}') as { TableName?: unknown }).TableName ?? '');
      const refusal = refuse(action, table);
      if (refusal !== null) {
        const message = refusal === 'AccessDeniedException'
          ? `User: arn:aws:iam::${IAM_MESSAGE_ACCOUNT}:user/ops-alice is not authorized to perform: dynamodb:${action} on resource: arn:aws:dynamodb:us-east-1:${IAM_MESSAGE_ACCOUNT}:table/${table} because no identity-based policy allows the dynamodb:${action} action`
          : 'The security token included in the request is invalid.';
        const text = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${refusal}`, message });
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': 'refused' });
        res.end(text);
        return;
      }
      const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => req.socket.destroy());
      out.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
