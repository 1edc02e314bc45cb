import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import type { Logger } from '../common/log.js';
import { DaemonConfigError, DEFAULT_SOCKET_GROUP } from './config.js';

// The API socket, as dockerd makes it (daemon/listeners, go-connections' NewUnixSocket): owned by
// root, group `weft` when that group exists (dockerd's `docker` group) or the one named by
// -G/--group, mode 0660. It is bound with umask 0777, so it is never connectable by anyone
// before its owner and mode are set. Whoever may use the socket controls the daemon: it is root.

/** dockerd's lookupGID: a group name from /etc/group, else a numeric gid. */
export function lookupGid(name: string, groupFile = '/etc/group'): number | null {
  let text = '';
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    /* no group file: numeric only */
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] === name && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return /^\d+$/.test(name) ? Number(name) : null;
}

/**
 * The socket's group id: the named group; the daemon's own group when it is "" or when the
 * default `weft` group does not exist (with dockerd's warning). A named group that does not
 * exist is an error, as in dockerd.
 */
export function socketGid(group: string, path: string, log: Pick<Logger, 'warn'>, groupFile?: string): number {
  if (group === '') return process.getgid?.() ?? 0;
  const gid = lookupGid(group, groupFile);
  if (gid !== null) return gid;
  if (group !== DEFAULT_SOCKET_GROUP) throw new DaemonConfigError(`failed to load listeners: group ${group} not found`);
  log.warn({ socket: path }, `could not change group ${path} to ${DEFAULT_SOCKET_GROUP}: group ${DEFAULT_SOCKET_GROUP} not found`);
  return process.getgid?.() ?? 0;
}

/** Listens on a fresh unix socket at path, owned root:gid, mode 0660. */
export async function listenUnix(server: Server, path: string, gid: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path)) unlinkSync(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // bind(2) runs inside listen() (synchronously, on this thread): the umask covers only it.
    const old = process.umask(0o777);
    try {
      server.listen(path, () => resolve());
    } finally {
      process.umask(old);
    }
  });
  chownSync(path, 0, gid);
  chmodSync(path, 0o660);
}
