import { once } from 'node:events';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Server } from 'node:net';

/** TCP states as Linux numbers them in /proc/net/tcp. */
const STATES: Record<string, string> = {
  '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2', '06': 'TIME_WAIT',
  '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK', '0A': 'LISTEN', '0B': 'CLOSING',
};

export interface TcpSocket {
  state: string;
  localPort: number;
  remotePort: number;
}

/** The TCP sockets a process holds open (Linux: its socket inodes matched against /proc/net/tcp{,6}). */
export function tcpSockets(pid: number): TcpSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1] as string);
    } catch {
      // closed meanwhile
    }
  }
  const sockets: TcpSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      // local_address and rem_address are HEXIP:HEXPORT, st the state; the inode is the tenth column.
      if (cols.length < 10 || !inodes.has(cols[9] as string)) continue;
      const port = (address: string): number => Number.parseInt(address.split(':')[1] as string, 16);
      sockets.push({ state: STATES[cols[3] as string] ?? (cols[3] as string), localPort: port(cols[1] as string), remotePort: port(cols[2] as string) });
    }
  }
  return sockets;
}

/** TCP ports a process listens on. */
export function listeningPorts(pid: number): number[] {
  return [...new Set(tcpSockets(pid).filter((s) => s.state === 'LISTEN').map((s) => s.localPort))].sort((a, b) => a - b);
}

/** Starts `server` on a free loopback port; resolves with its base URL (http://127.0.0.1:port). */
export async function listenOnLoopback(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}
