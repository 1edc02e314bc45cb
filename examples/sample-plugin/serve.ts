import { createServer, type Server } from 'node:http';
import { chmodSync, rmSync } from 'node:fs';

// The transport side of Docker's legacy plugin protocol: an HTTP server on a unix socket where
// every request is POST /<Interface>.<Method> with a JSON body, answered with JSON. A refusal is
// {"Err": "..."}: with status 200 (libnetwork reports it as "remote: <Err>"), or with 500 for
// --fail, as Docker's go-plugins-helpers answer (reported as "<Interface.Method>: <Err>").

export type Handler = (body: Record<string, any>) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface Faults {
  /** Methods that never answer (a hanging plugin). */
  hang: Set<string>;
  /** Methods that answer this Err. */
  fail: Map<string, string>;
  /** Methods after which the process dies instead of answering (a crash mid-operation). */
  crash: Set<string>;
}

export function serve(socket: string, implementsList: string[], handlers: Record<string, Handler>, faults: Faults, log: (m: string) => void): Promise<Server> {
  const all: Record<string, Handler> = { 'Plugin.Activate': () => ({ Implements: implementsList }), ...handlers };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '/').slice(1);
      const reply = (status: number, v: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/vnd.docker.plugins.v1+json' });
        res.end(JSON.stringify(v));
      };
      log(`${method} ${Buffer.concat(chunks).toString('utf8')}`);
      if (faults.hang.has(method)) return; // never answered
      const fail = faults.fail.get(method);
      if (fail) return reply(500, { Err: fail });
      const h = all[method];
      if (!h) return reply(404, { Err: `${method} is not implemented` });
      let body: Record<string, any> = {};
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        body = text.trim() ? JSON.parse(text) : {};
      } catch {
        return reply(400, { Err: 'invalid JSON' });
      }
      Promise.resolve()
        .then(() => h(body ?? {}))
        .then(
          (v) => {
            if (faults.crash.has(method)) {
              log(`crashing after ${method}`);
              process.exit(70);
            }
            reply(200, v);
          },
          (err: unknown) => reply(200, { Err: (err as Error).message }),
        );
    });
  });
  rmSync(socket, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      chmodSync(socket, 0o660);
      resolve(server);
    });
  });
}
