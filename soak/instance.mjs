// One `paylog serve` child process of the soak, on a fixed loopback port, restartable with
// other settings, with its resident memory read from /proc.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { ROOT } from '../bench/lib.mjs';

const BIN = `${ROOT}bin/paylog.js`;
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 100;
/** Output kept per instance for the report (the end of it), in characters. */
const OUTPUT_TAIL_CHARS = 64 * 1024;

/** Resident set of a live process (VmRSS), in KiB; null when it is gone. */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export class Instance {
  /**
   * @param {string} name
   * @param {string} store 'postgres' or 'sqlite'
   * @param {number} port
   * @param {Record<string,string>} env
   * @param {(instance: Instance, chunk: string) => void} onOutput every chunk it writes (scanned for card numbers)
   */
  constructor(name, store, port, env, onOutput) {
    Object.assign(this, { name, store, port, env, onOutput });
    this.url = `http://127.0.0.1:${port}`;
    this.child = null;
    this.tail = '';
    /** Each run of the process: start time, RSS samples, how it ended. */
    this.lifetimes = [];
    /** Set while the soak itself stops this instance, so its exit is not taken for a crash. */
    this.stopping = false;
  }

  get pid() { return this.child?.pid ?? null; }
  get alive() { return this.child !== null && this.child.exitCode === null && this.child.signalCode === null; }
  get lifetime() { return this.lifetimes.at(-1); }

  /** Starts the process (with `extraEnv` over its settings) and waits until /readyz answers 200. */
  async start(extraEnv = {}) {
    const child = spawn(process.execPath, [BIN, 'serve'], {
      env: { ...process.env, ...this.env, ...extraEnv, PAYLOG_PORT: String(this.port), PAYLOG_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const lifetime = { pid: child.pid, startedMs: Date.now(), readyMs: null, samples: [], exit: null, settings: extraEnv };
    this.lifetimes.push(lifetime);
    const take = (chunk) => {
      const text = chunk.toString();
      this.tail = (this.tail + text).slice(-OUTPUT_TAIL_CHARS);
      this.onOutput(this, text);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('exit', (code, signal) => { lifetime.exit = { code, signal, atMs: Date.now() }; });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${this.name} exited ${child.exitCode ?? child.signalCode} while starting:\n${this.tail}`);
      if (await this.ready()) break;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${READY_TIMEOUT_MS} ms:\n${this.tail}`);
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
    lifetime.readyMs = Date.now();
  }

  async ready() {
    try {
      const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Sends `signal` and waits for the process to exit; resolves with its exit code (null when killed by a signal). */
  async stop(signal = 'SIGTERM') {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    this.stopping = true;
    try {
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = await exited;
      return code;
    } finally {
      this.stopping = false;
    }
  }

  sample() {
    if (!this.alive) return;
    const kib = rssKiB(this.child.pid);
    if (kib !== null) this.lifetime.samples.push({ atMs: Date.now(), kib });
  }
}
