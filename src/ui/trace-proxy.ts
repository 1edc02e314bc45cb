import { request } from 'node:http';

// The page's trace panel asks weftd's own Engine API (GET /weft/trace) over its unix socket,
// so it shows exactly what `weft network trace` and API clients get. Only from, to and port
// are passed on (traceQuery); the answer's status and JSON body come back unchanged.

export interface ProxyAnswer {
  status: number;
  body: string;
}

export const TRACE_PATH = '/weft/trace';
const TIMEOUT_MS = 15_000;

export function traceQuery(q: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const k of ['from', 'to', 'port']) {
    const v = q.get(k);
    if (v !== null) out.set(k, v);
  }
  return out;
}

export function unixTrace(socketPath: string): (q: URLSearchParams, signal: AbortSignal) => Promise<ProxyAnswer> {
  return (q, signal) =>
    new Promise((resolve) => {
      const fail = (message: string, status = 502) => resolve({ status, body: JSON.stringify({ message }) });
      const req = request({ socketPath, method: 'GET', path: `${TRACE_PATH}?${q}`, headers: { Host: 'weft' }, timeout: TIMEOUT_MS, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => fail(`trace: ${err.message}`));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
      req.on('error', (err) => fail(`trace: ${err.message}`, signal.aborted ? 499 : 502));
      req.end();
    });
}
