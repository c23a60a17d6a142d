export declare const CLIENT_SCHEMA_FILE: string;
/** The source of src/client/schema.ts for an OpenAPI document (an object). */
export declare function clientSchemaSource(document: unknown): Promise<string>;
export declare function writeClientSchema(document: unknown): Promise<void>;
