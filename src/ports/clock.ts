export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  bytes(length: number): Uint8Array;
}
