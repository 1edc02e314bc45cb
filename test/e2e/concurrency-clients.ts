import { Agent, request } from 'node:http';
import type { Daemon } from '../helpers/daemons.js';
import type { ClientPlan, Expect, Step } from './concurrency-plan.js';

// The concurrency test's clients: most speak the Engine API over the unix socket, each on its own
// keep-alive connection; a few run the docker CLI. Every step's answer is recorded with its
// latency, then judged against what the plan expects.

export interface Answer {
  ok: boolean;
  status: number; // HTTP status; the CLI's exit code for CLI clients
  text: string;
}

export interface StepRecord {
  client: number;
  cli: boolean;
  step: Step;
  expect?: Expect;
  answer: Answer;
  ms: number;
}

interface Client {
  run(step: Step): Promise<Answer>;
  close(): void;
}

const IMAGE = 'busybox';

export function apiClient(d: Daemon, timeoutMs: number): Client & { call(method: string, path: string, body?: unknown): Promise<Answer> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<Answer>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        { socketPath: d.socket, agent, method, path, timeout: timeoutMs, headers: { Host: 'docker', ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            resolve({ ok: status < 300, status, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  const first = async (...calls: (() => Promise<Answer>)[]) => {
    let last: Answer = { ok: true, status: 200, text: '' };
    for (const c of calls) {
      last = await c();
      if (!last.ok) return last;
    }
    return last;
  };
  return {
    call,
    close: () => agent.destroy(),
    run(step) {
      switch (step.kind) {
        case 'net-create':
          return call('POST', '/networks/create', { Name: step.name, CheckDuplicate: true, ...(step.subnet ? { IPAM: { Config: [{ Subnet: step.subnet }] } } : {}) });
        case 'net-rm':
          return call('DELETE', `/networks/${step.name}`);
        case 'run': {
          const [net, ...more] = step.networks;
          return first(
            () => call('POST', `/containers/create?name=${step.name}`, { Image: IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: net } }),
            ...more.map((n) => () => call('POST', `/networks/${n}/connect`, { Container: step.name })),
            () => call('POST', `/containers/${step.name}/start`),
          );
        }
        case 'connect':
          return call('POST', `/networks/${step.network}/connect`, { Container: step.container });
        case 'disconnect':
          return call('POST', `/networks/${step.network}/disconnect`, { Container: step.container });
        case 'rm':
          return call('DELETE', `/containers/${step.container}?force=1`);
      }
    },
  };
}

export function cliClient(d: Daemon, timeoutMs: number): Client {
  const docker = async (args: string[]): Promise<Answer> => {
    const r = await d.docker(args, { timeoutMs });
    return { ok: r.code === 0, status: r.code, text: r.stderr.trim() };
  };
  return {
    close: () => undefined,
    async run(step) {
      switch (step.kind) {
        case 'net-create':
          return docker(['network', 'create', ...(step.subnet ? ['--subnet', step.subnet] : []), step.name]);
        case 'net-rm':
          return docker(['network', 'rm', step.name]);
        case 'run': {
          const [net, ...more] = step.networks;
          let a = await docker(['run', '-d', '--name', step.name, '--network', net, IMAGE, 'sleep', '3600']);
          for (const n of more) if (a.ok) a = await docker(['network', 'connect', n, step.name]); // live
          return a;
        }
        case 'connect':
          return docker(['network', 'connect', step.network, step.container]);
        case 'disconnect':
          return docker(['network', 'disconnect', step.network, step.container]);
        case 'rm':
          return docker(['rm', '-f', step.container]);
      }
    },
  };
}

/**
 * Runs every client at once: first the races (all clients together, released at the same
 * moment), then each client's own steps in order. Returns every answer; `inFlight` shows, by
 * client, the step still waiting for its answer.
 */
export async function runClients(d: Daemon, plans: ClientPlan[], timeoutMs: number, inFlight = new Map<number, string>()): Promise<StepRecord[]> {
  const records: StepRecord[] = [];
  const clients = plans.map((p) => (p.cli ? cliClient(d, timeoutMs) : apiClient(d, timeoutMs)));
  const timed = async (p: ClientPlan, client: Client, step: Step, expect?: Expect) => {
    const t0 = performance.now();
    inFlight.set(p.id, describeStep(step));
    const answer = await client.run(step).catch((err: Error): Answer => ({ ok: false, status: -1, text: `client error: ${err.message}` }));
    inFlight.delete(p.id);
    records.push({ client: p.id, cli: p.cli, step, expect, answer, ms: performance.now() - t0 });
  };
  try {
    await Promise.all(
      plans.map(async (p, i) => {
        for (const step of p.race) await timed(p, clients[i], step);
        for (const s of p.steps) await timed(p, clients[i], s.step, s.expect);
      }),
    );
  } finally {
    for (const c of clients) c.close();
  }
  return records;
}

/** Why an answer is wrong for its expectation, or null. */
export function judgeAnswer(r: StepRecord): string | null {
  const a = r.answer;
  const who = `client ${r.client}${r.cli ? ' (cli)' : ''} ${describeStep(r.step)}`;
  if (/SQLITE_BUSY|database is locked/i.test(a.text)) return `${who}: SQLite busy reached the user: ${a.text}`;
  if (a.status === -1) return `${who}: ${a.text}`;
  if (!r.expect) return null; // a race: judged by its winners
  if (r.expect.ok) return a.ok ? null : `${who}: expected success, got ${a.status} ${a.text.slice(0, 300)}`;
  if (a.ok) return `${who}: expected ${r.expect.status} ${r.expect.text}, but it succeeded`;
  if (!r.cli && a.status !== r.expect.status) return `${who}: expected ${r.expect.status}, got ${a.status} ${a.text.slice(0, 300)}`;
  if (!r.expect.text.test(a.text)) return `${who}: expected ${r.expect.text}, got ${a.status} ${a.text.slice(0, 300)}`;
  return null;
}

export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'net-create':
      return `network create ${s.name}${s.subnet ? ` --subnet ${s.subnet}` : ''}`;
    case 'net-rm':
      return `network rm ${s.name}`;
    case 'run':
      return `run ${s.name} on ${s.networks.join('+')}`;
    case 'connect':
      return `network connect ${s.network} ${s.container}`;
    case 'disconnect':
      return `network disconnect ${s.network} ${s.container}`;
    case 'rm':
      return `rm -f ${s.container}`;
  }
}
