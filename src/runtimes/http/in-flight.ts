/**
 * Counts route handlers still running. A handler keeps running when its client disconnects,
 * and the HTTP server closes once its sockets do, so shutdown waits for this count too:
 * otherwise a payment charged just before SIGTERM could find the journal already closed
 * when it records its outcome (it would stay processing until reconciled).
 */
export class InFlight {
  private running = 0;
  private waiters: (() => void)[] = [];

  track<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    const done = (): void => {
      this.running--;
      if (this.running === 0) for (const wake of this.waiters.splice(0)) wake();
    };
    let result: Promise<T>;
    try {
      result = work();
    } catch (err) {
      done();
      return Promise.reject(err);
    }
    return result.finally(done);
  }

  get count(): number {
    return this.running;
  }

  /** Resolves true once nothing runs, or false when `timeoutMs` passes first. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Route handlers still running (shutdown waits for them). */
    inFlight: InFlight;
  }
}
