import type { Etcd3, Watcher } from 'etcd3';
import type { Peer } from './commands.js';

// Every overlay endpoint of the cluster, as the cluster store holds them (peers/<net>/<endpoint>,
// each on its host's lease): loaded once, then followed by a watch from the revision it was read
// at, so nothing is missed between the two. Listeners hear each endpoint that appears or goes
// (the driver programs FDB and neighbour entries from them, the embedded DNS its names).

export type PeerChange = { type: 'put' | 'delete'; peer: Peer };

export class PeerTable {
  private readonly peers = new Map<string, Peer>();
  private watcher: Watcher | null = null;
  private generation = 0;
  private readonly listeners = new Set<(c: PeerChange) => void>();

  constructor(private readonly prefix: string) {}

  key(netId: string, epId: string): string {
    return `${this.prefix}${netId}/${epId}`;
  }

  onChange(f: (c: PeerChange) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  all(): Peer[] {
    return [...this.peers.values()];
  }

  ofNetwork(netId: string): Peer[] {
    return this.all().filter((p) => p.netId === netId);
  }

  /** Starts following this client's store (a new client replaces the old watch). */
  async follow(etcd: Etcd3): Promise<void> {
    const gen = ++this.generation;
    await this.stopWatch();
    const res = await etcd.getAll().prefix(this.prefix).exec();
    if (gen !== this.generation) return;
    const seen = new Set<string>();
    for (const kv of res.kvs) {
      const p = parse(kv.value.toString());
      if (!p) continue;
      seen.add(kv.key.toString());
      this.set(kv.key.toString(), p);
    }
    for (const k of [...this.peers.keys()]) if (!seen.has(k)) this.drop(k);
    const w = await etcd.watch().prefix(this.prefix).startRevision(String(Number(res.header.revision) + 1)).create();
    if (gen !== this.generation) return void w.cancel().catch(() => undefined);
    this.watcher = w;
    w.on('put', (kv) => {
      const p = parse(kv.value.toString());
      if (p) this.set(kv.key.toString(), p);
    });
    w.on('delete', (kv) => this.drop(kv.key.toString()));
    w.on('error', () => undefined);
  }

  /** Stops following and forgets every peer (this node left its cluster). */
  async stop(): Promise<void> {
    this.generation++;
    await this.stopWatch();
    for (const k of [...this.peers.keys()]) this.drop(k);
  }

  private async stopWatch(): Promise<void> {
    const w = this.watcher;
    this.watcher = null;
    if (w) await w.cancel().catch(() => undefined);
  }

  private set(key: string, p: Peer): void {
    const old = this.peers.get(key);
    if (old && JSON.stringify(old) === JSON.stringify(p)) return;
    if (old) this.tell({ type: 'delete', peer: old });
    this.peers.set(key, p);
    this.tell({ type: 'put', peer: p });
  }

  private drop(key: string): void {
    const old = this.peers.get(key);
    if (!old) return;
    this.peers.delete(key);
    this.tell({ type: 'delete', peer: old });
  }

  private tell(c: PeerChange): void {
    for (const f of this.listeners) {
      try {
        f(c);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }
}

function parse(text: string): Peer | null {
  try {
    const p = JSON.parse(text) as Peer;
    return p && typeof p.ip === 'string' && typeof p.mac === 'string' && typeof p.vtep === 'string' ? p : null;
  } catch {
    return null;
  }
}
