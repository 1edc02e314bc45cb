import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { systemError } from '../common/errors.js';
import { CA_CERT, NODE_CERT, NODE_KEY } from './pki.js';

// The local etcd member of a manager (Debian's etcd-server, 3.4). It is started detached, in its
// own session, with its output in a log file: like conmon for containers, it outlives weftd, so
// that a weftd restart or crash costs the cluster nothing. weftd adopts it again through its pid
// file, restarts it (with backoff) if it dies while wanted, and ends it only on leave or demote.
// Peers and clients both speak TLS with the swarm's node certificates, and etcd demands a
// client certificate signed by the swarm CA on both ports.

export const ETCD_BIN = '/usr/bin/etcd';
export const PEER_PORT = 2380;
export const CLIENT_PORT = 2379;

export interface EtcdMemberOptions {
  /** <data-root>/swarm/etcd: data/, etcd.pid, etcd.args.json, etcd.log. */
  dir: string;
  /** Holds swarm-node.crt/.key and swarm-root-ca.crt. */
  certDir: string;
  log: Logger;
}

export interface EtcdBootstrap {
  name: string;
  addr: string;
  /** name=https://addr:2380,... including this member. */
  initialCluster: string;
  state: 'new' | 'existing';
  clusterToken: string;
}

export const peerUrl = (addr: string) => `https://${hostPort(addr, PEER_PORT)}`;
export const clientUrl = (addr: string) => `https://${hostPort(addr, CLIENT_PORT)}`;
const hostPort = (addr: string, port: number) => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

export class EtcdMember {
  private pid: number | undefined;
  private wanted = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private nextStart = 0;

  constructor(private readonly opts: EtcdMemberOptions) {}

  private get pidFile() {
    return join(this.opts.dir, 'etcd.pid');
  }
  private get argsFile() {
    return join(this.opts.dir, 'etcd.args.json');
  }

  /** Whether this node has an etcd member configured (a manager's data dir). */
  configured(): boolean {
    return existsSync(this.argsFile);
  }

  /** Writes the member's arguments (first start) and starts it. */
  async bootstrap(b: EtcdBootstrap): Promise<void> {
    mkdirSync(join(this.opts.dir, 'data'), { recursive: true, mode: 0o700 });
    const c = this.opts.certDir;
    const args = [
      '--name', b.name,
      '--data-dir', join(this.opts.dir, 'data'),
      '--listen-peer-urls', peerUrl(b.addr),
      '--initial-advertise-peer-urls', peerUrl(b.addr),
      '--listen-client-urls', `${clientUrl(b.addr)},${clientUrl('127.0.0.1')}`,
      '--advertise-client-urls', clientUrl(b.addr),
      '--initial-cluster', b.initialCluster,
      '--initial-cluster-state', b.state,
      '--initial-cluster-token', b.clusterToken,
      '--cert-file', join(c, NODE_CERT), '--key-file', join(c, NODE_KEY), '--trusted-ca-file', join(c, CA_CERT), '--client-cert-auth',
      '--peer-cert-file', join(c, NODE_CERT), '--peer-key-file', join(c, NODE_KEY), '--peer-trusted-ca-file', join(c, CA_CERT), '--peer-client-cert-auth',
      '--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000',
      '--logger', 'zap', '--log-outputs', 'stderr',
    ];
    writeFileSync(this.argsFile, JSON.stringify(args) + '\n');
    await this.ensure();
  }

  /** Adopts a running member (pid file) or starts it, and keeps it running until stop(). */
  async ensure(): Promise<void> {
    this.wanted = true;
    const pid = this.readPid();
    if (pid && alive(pid)) this.pid = pid;
    else this.spawnNow();
    this.timer ??= setInterval(() => this.check(), 1000);
    this.timer.unref();
  }

  private readPid(): number | undefined {
    try {
      const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.startsWith(ETCD_BIN) && cmd.includes(join(this.opts.dir, 'data')) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private spawnNow(): void {
    const args = JSON.parse(readFileSync(this.argsFile, 'utf8')) as string[];
    const fd = openSync(join(this.opts.dir, 'etcd.log'), 'a');
    try {
      const child = spawn(ETCD_BIN, args, { detached: true, stdio: ['ignore', fd, fd] });
      child.on('error', (err) => this.opts.log.error({ err }, 'etcd could not be started'));
      child.unref();
      this.pid = child.pid;
      if (child.pid) writeFileSync(this.pidFile, `${child.pid}\n`);
      this.opts.log.info({ etcdPid: child.pid }, 'etcd member started');
    } finally {
      closeSync(fd);
    }
  }

  /** Restarts a member that died while wanted: 1 s, 2 s, 4 s... up to 15 s apart. */
  private check(): void {
    if (!this.wanted || (this.pid && alive(this.pid))) {
      if (this.pid && alive(this.pid) && Date.now() - this.nextStart > 60_000) this.failures = 0;
      return;
    }
    if (Date.now() < this.nextStart) return;
    this.opts.log.warn({ etcdPid: this.pid, failures: this.failures }, 'etcd member exited; restarting it');
    this.failures++;
    this.nextStart = Date.now() + Math.min(15_000, 1000 * 2 ** (this.failures - 1));
    try {
      this.spawnNow();
    } catch (err) {
      this.opts.log.error({ err }, 'etcd restart failed');
    }
  }

  /** Stops supervising and ends the member (SIGTERM, then SIGKILL after 10 s). */
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const pid = this.pid ?? this.readPid();
    this.pid = undefined;
    if (!pid || !alive(pid)) return;
    try {
      process.kill(pid, 'SIGCONT'); // a stopped (SIGSTOP) member cannot act on SIGTERM
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      while (alive(pid)) await sleep(20);
    }
  }

  /** Stops the member and deletes its data (leave, demote). */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.opts.dir, { recursive: true, force: true });
  }

  /** Stops supervising only, leaving the member running (weftd shutting down). */
  detach(): void {
    this.wanted = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits until the local member answers /health with true. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await this.health().catch((e: Error) => e.message);
      if (last === 'true') return;
      await sleep(100);
    }
    throw systemError(`etcd did not become healthy within ${timeoutMs} ms (${last}); see ${join(this.opts.dir, 'etcd.log')}`);
  }

  private health(): Promise<string> {
    const c = this.opts.certDir;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1', port: CLIENT_PORT, path: '/health', timeout: 1000, servername: '', // no SNI for an IP (RFC 6066)
          ca: readFileSync(join(c, CA_CERT)), cert: readFileSync(join(c, NODE_CERT)), key: readFileSync(join(c, NODE_KEY)),
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => {
            try {
              resolve(String((JSON.parse(body) as { health: string }).health));
            } catch {
              resolve(body);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  }
}

/** Alive and not a zombie (a detached member whose parent weftd is gone is reaped by pid 1, late). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
