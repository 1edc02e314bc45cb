// Finding the daemon: -H/--host, then WEFT_HOST, then DOCKER_HOST, then the default socket.

export const DEFAULT_HOST = 'unix:///run/weft/weft.sock';

export type Endpoint =
  | { kind: 'unix'; socketPath: string; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string };

export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  for (const candidate of [flag, env.WEFT_HOST, env.DOCKER_HOST]) {
    if (candidate !== undefined && candidate.trim() !== '') return candidate.trim();
  }
  return DEFAULT_HOST;
}

/** Parses a docker-style host string: unix:///path, /path, tcp://host:port, host:port. */
export function parseHost(url: string): Endpoint {
  if (url.startsWith('unix://')) {
    const socketPath = url.slice('unix://'.length);
    if (!socketPath) throw new Error(`invalid host: ${url}: missing socket path`);
    return { kind: 'unix', socketPath, url };
  }
  if (url.startsWith('/')) return { kind: 'unix', socketPath: url, url: `unix://${url}` };
  let rest = url;
  if (rest.startsWith('tcp://')) rest = rest.slice('tcp://'.length);
  else if (rest.startsWith('http://')) rest = rest.slice('http://'.length);
  else if (/^[a-z]+:\/\//.test(rest)) throw new Error(`invalid host: ${url}: unsupported protocol`);
  rest = rest.replace(/\/+$/, '');
  let host = rest;
  let port = 2375;
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(rest);
  if (!m) throw new Error(`invalid host: ${url}`);
  host = m[1] || '127.0.0.1';
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (m[2] !== undefined) port = Number(m[2]);
  return { kind: 'tcp', host, port, url: `tcp://${m[1] || '127.0.0.1'}:${port}` };
}
