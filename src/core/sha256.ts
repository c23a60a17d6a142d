import * as crypto from 'node:crypto';

type OneShot = (algorithm: string, data: string | Buffer, outputEncoding: 'hex' | 'buffer') => string | Buffer;

/**
 * One-shot SHA-256 through crypto.hash (Node ≥ 20.12), which for record-sized inputs costs
 * about half of createHash().update().digest(): verify and the journal writer hash every
 * record and every Merkle node. Falls back to createHash where crypto.hash is missing.
 */
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

/** Hex SHA-256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return oneShot ? (oneShot('sha256', text, 'hex') as string) : crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** SHA-256 of bytes. */
export function sha256(data: Buffer): Buffer {
  return oneShot ? (oneShot('sha256', data, 'buffer') as Buffer) : crypto.createHash('sha256').update(data).digest();
}
