export declare const SIMULATOR_PACKAGE: string;
export declare const DYNAMODB_LOCAL_ENV: Record<string, string>;
export declare function ensureDynamoDbLocal(): string;
export interface DynamoDbLocal {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
}
export declare function startDynamoDbLocal(): Promise<DynamoDbLocal>;
