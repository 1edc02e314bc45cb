import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createTestNetns, type TestNetns } from '../helpers/netns.js';
import { runCmd, type CmdResult, type Daemon } from '../helpers/daemons.js';

// A small lab for the bridge-feature e2e tests: a second namespace ("another machine") joined by
// a veth to the daemon's namespace. Daemon side 10.99.0.1/24 + fd99::1/64, outside 10.99.0.2 +
// .3 and fd99::2. Everything it makes goes away with the outside namespace (the daemon side of
// the veth dies with its peer).

export const HOST4 = '10.99.0.1';
export const OUT4 = '10.99.0.2';
export const OUT4B = '10.99.0.3';
export const HOST6 = 'fd99::1';
export const OUT6 = 'fd99::2';

export interface Lab {
  out: TestNetns;
  /** Runs a command in the daemon's namespace ("the host"). */
  host(cmd: string, args: string[], timeoutMs?: number): Promise<CmdResult>;
  /** Runs a command in the outside namespace. */
  outside(cmd: string, args: string[], timeoutMs?: number): Promise<CmdResult>;
  /** curl from the host (daemon namespace): body or '' on failure. */
  curlHost(url: string, extra?: string[]): Promise<string>;
  curlOutside(url: string, extra?: string[]): Promise<string>;
  /** A server in the outside namespace on :9999 answering each request with the client address. */
  startEcho(): Promise<void>;
  destroy(): void;
}

export async function makeLab(d: Daemon): Promise<Lab> {
  const out = createTestNetns('wo');
  const children: ChildProcess[] = [];
  const tag = out.name.slice(-6);
  const hostIf = `wh${tag}`;
  const outIf = `wo${tag}`;
  execFileSync('ip', ['link', 'add', hostIf, 'netns', d.netns.name, 'type', 'veth', 'peer', 'name', outIf, 'netns', out.name]);
  const hn = ['-n', d.netns.name];
  const on = ['-n', out.name];
  execFileSync('ip', [...hn, 'addr', 'add', `${HOST4}/24`, 'dev', hostIf]);
  execFileSync('ip', [...hn, '-6', 'addr', 'add', `${HOST6}/64`, 'dev', hostIf, 'nodad']);
  execFileSync('ip', [...hn, 'link', 'set', hostIf, 'up']);
  execFileSync('ip', [...on, 'addr', 'add', `${OUT4}/24`, 'dev', outIf]);
  execFileSync('ip', [...on, 'addr', 'add', `${OUT4B}/24`, 'dev', outIf]);
  execFileSync('ip', [...on, '-6', 'addr', 'add', `${OUT6}/64`, 'dev', outIf, 'nodad']);
  execFileSync('ip', [...on, 'link', 'set', outIf, 'up']);
  const inNs = (ns: string) => (cmd: string, args: string[], timeoutMs = 15_000) => runCmd('nsenter', [`--net=${ns}`, cmd, ...args], { timeoutMs });
  const host = inNs(d.netns.path);
  const outside = inNs(out.path);
  const curl = (run: typeof host) => async (url: string, extra: string[] = []) => {
    const r = await run('curl', ['-s', '-m', '4', ...extra, url], 8000);
    return r.code === 0 ? r.stdout : '';
  };
  const lab: Lab = {
    out,
    host,
    outside,
    curlHost: curl(host),
    curlOutside: curl(outside),
    async startEcho() {
      const js = "require('http').createServer((q,s)=>s.end(q.socket.remoteAddress.replace(/^::ffff:/,''))).listen(9999,'::')";
      children.push(out.spawn(process.execPath, ['-e', js], { stdio: 'ignore' }));
      for (let i = 0; i < 50; i++) {
        if ((await lab.curlOutside(`http://${OUT4}:9999/`)) !== '') return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail('echo server in the outside namespace did not start');
    },
    destroy() {
      for (const c of children) c.kill('SIGKILL');
      out.destroy();
    },
  };
  return lab;
}

/** `docker run -d` of a busybox web server answering `body` on :80; asserts success. */
export async function runWeb(d: Daemon, name: string, body: string, args: string[] = []): Promise<void> {
  const r = await d.docker(['run', '-d', '--name', name, ...args, 'busybox', 'sh', '-c', `echo ${body} > /index.html; exec httpd -f -p 80`]);
  assert.equal(r.code, 0, `docker run ${name}: ${r.stderr}`);
}

/** `docker exec <c> timeout 5 wget -qO- <url>`: body or '' on failure. */
export async function wgetFrom(d: Daemon, container: string, url: string): Promise<string> {
  const r = await d.docker(['exec', container, 'timeout', '5', 'wget', '-qO-', url], { timeoutMs: 15_000 });
  return r.code === 0 ? r.stdout.trim() : '';
}

