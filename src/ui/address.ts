import { isIP } from 'node:net';

// Where the topology page listens (weftd --ui). The page shows every container and address and
// needs no login, so it stays on loopback unless the user names another address; that address is
// accepted with a warning, never picked by default.

export interface UiAddress {
  host: string;
  port: number;
  loopback: boolean;
}

export const DEFAULT_UI_HOST = '127.0.0.1';

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** "PORT", "HOST:PORT" or "[V6]:PORT"; throws with a message naming what is wrong. */
export function parseUiAddress(value: string): UiAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  if (!m) throw new Error(`invalid ui "${value}": expected PORT, HOST:PORT or [IPv6]:PORT`);
  const host = m[1] || m[2] || DEFAULT_UI_HOST;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid ui "${value}": port must be between 0 and 65535`);
  if (host !== 'localhost' && isIP(host) === 0) throw new Error(`invalid ui "${value}": the host must be an IP address or localhost`);
  return { host, port, loopback: isLoopback(host) };
}

/** What weftd logs when the page is reachable from other machines. */
export function exposureWarning(a: UiAddress): string | null {
  return a.loopback ? null : `the topology page listens on ${a.host}:${a.port}, not loopback: anyone who reaches that address sees every network, container and address, without authentication`;
}
