/** A witness's answer to add-checkpoint, as received. */
export interface WitnessAnswer {
  status: number;
  contentType: string | null;
  /** The body as text, cut at WitnessClient's limit. */
  body: string;
}

/** Sends C2SP tlog-witness add-checkpoint requests. */
export interface WitnessClient {
  /**
   * POSTs `body` to `<url>/add-checkpoint`; resolves with whatever the witness answered, or
   * rejects when no answer came (network error, none within `timeoutMs`, or `signal` aborted).
   */
  addCheckpoint(url: string, body: string, timeoutMs: number, signal?: AbortSignal): Promise<WitnessAnswer>;
}
