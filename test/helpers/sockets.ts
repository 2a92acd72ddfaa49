/** What a process has open on the network, read from /proc (Linux only). */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export const CAN_SEE_SOCKETS = process.platform === 'linux';

/**
 * The TCP ports process `pid` listens on: its socket inodes (/proc/<pid>/fd) matched against
 * the LISTEN rows of /proc/net/tcp and tcp6. Unlike a log line, this cannot miss a listener.
 */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (socket?.[1] !== undefined) inodes.add(socket[1]);
    } catch {
      // The descriptor closed while we looked: it listens on nothing.
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local = '', , state, , , , , , inode = ''] = line.trim().split(/\s+/);
      if (state === '0A' && inodes.has(inode)) ports.add(Number.parseInt(local.split(':').at(-1) ?? '', 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}
