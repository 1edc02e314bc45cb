import type { ServerResponse } from 'node:http';
import type { EngineEvent } from '../common/events.js';

// The page's live feed: Server-Sent Events fed by the engine's event bus. Each client gets the
// whole topology when it connects and again after every change; changes arriving together
// (a `run` emits create, connect and start in one turn) are coalesced into one message a few
// milliseconds later, so the page is at most COALESCE_MS + one render behind the engine. The
// snapshot is built once per change and shared by every client.

export const COALESCE_MS = 25;
export const HEARTBEAT_MS = 15_000;
/** Streams beyond this are refused (503): a page left open in many tabs must not cost unbounded memory. */
export const MAX_CLIENTS = 64;

export interface Cause {
  type: string;
  action: string;
  name: string;
}

export class TopologyStream {
  private readonly clients = new Set<ServerResponse>();
  private pending: Cause[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly heartbeat: NodeJS.Timeout;
  private unsubscribe: () => void = () => undefined;
  private seq = 0;

  constructor(
    private readonly snapshot: () => unknown,
    subscribe: (f: (ev: EngineEvent) => void) => () => void,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.unsubscribe = subscribe((ev) => this.changed(ev));
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over the response; false when too many streams are open already. */
  add(res: ServerResponse): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    // retry: how soon the browser reconnects after weftd restarts.
    res.write(`retry: 1000\n${this.message([{ type: 'snapshot', action: 'connect', name: '' }])}`);
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    res.on('close', drop);
    res.on('error', drop);
    return true;
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.heartbeat);
    if (this.timer) clearTimeout(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  /** A change no engine event reports (cluster membership). */
  poke(type: string, action: string, name = ''): void {
    this.pending.push({ type, action, name });
    this.timer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  private changed(ev: EngineEvent): void {
    const name = ev.type === 'network' ? ('container' in ev ? `${ev.container.name} ${ev.network.name}` : ev.network.name) : ev.container.name;
    this.poke(ev.type, ev.action, name);
  }

  private flush(): void {
    this.timer = null;
    const causes = this.pending;
    this.pending = [];
    if (this.clients.size === 0) return;
    try {
      this.broadcast(this.message(causes));
    } catch (err) {
      this.onError(err); // a timer's throw would reach the process; the next change tries again
    }
  }

  private message(causes: Cause[]): string {
    const data = JSON.stringify({ seq: ++this.seq, causes, topology: this.snapshot() });
    return `event: topology\nid: ${this.seq}\ndata: ${data}\n\n`;
  }

  private broadcast(text: string): void {
    for (const res of this.clients) {
      if (res.destroyed || res.writableEnded) this.clients.delete(res);
      // A client that stops reading is dropped rather than buffered for without bound.
      else if (res.writableLength > 4 * 1024 * 1024) res.destroy();
      else res.write(text);
    }
  }
}
