import { existsSync } from 'node:fs';
import { defaultRouteAddr } from '../cluster/addr.js';
import type { ClusterStoreConfig } from '../cluster/store-cluster.js';

// dockerd's (pre-20.10) --cluster-store, --cluster-advertise and --cluster-store-opt, for etcd:
//   --cluster-store etcd://h1:2379,h2:2379  --cluster-advertise 10.0.0.1:2376 (or eth0:2376)
//   --cluster-store-opt kv.cacertfile=/ca.pem kv.certfile=/cert.pem kv.keyfile=/key.pem discovery.ttl=60s
// Errors are plain Errors; the caller wraps them as configuration errors.

const KNOWN = ['kv.cacertfile', 'kv.certfile', 'kv.keyfile', 'discovery.heartbeat', 'discovery.ttl'];

/** Go's time.ParseDuration for the forms these options take (e.g. 20s, 1m30s, 1500ms), in seconds. */
function seconds(key: string, v: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let at = 0;
  while (at < v.length) {
    re.lastIndex = at;
    const m = re.exec(v);
    if (!m) throw new Error(`invalid cluster-store-opt ${key}=${v}: time: invalid duration "${v}"`);
    total += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  if (v === '' || total < 1) throw new Error(`invalid cluster-store-opt ${key}=${v}: must be at least 1s`);
  return Math.round(total);
}

export function parseClusterStore(url: string | undefined, advertise: string | undefined, opts: string[]): ClusterStoreConfig | undefined {
  if (!url) {
    if (advertise) throw new Error('invalid cluster configuration. --cluster-advertise must be accompanied by --cluster-store configuration');
    if (opts.length) throw new Error('invalid cluster configuration. --cluster-store-opt must be accompanied by --cluster-store configuration');
    return undefined;
  }
  const m = /^([a-z0-9]+):\/\/([^/]+)(\/.*)?$/.exec(url);
  if (!m) throw new Error(`invalid cluster-store "${url}": expected etcd://host:port[,host:port]`);
  if (m[1] !== 'etcd') throw new Error(`invalid cluster-store "${url}": weft supports etcd only (not ${m[1]})`);
  if (m[3] && m[3] !== '/') throw new Error(`invalid cluster-store "${url}": a key path is not supported (weft keeps its keys under /weft/)`);
  const o = new Map<string, string>();
  for (const kv of opts) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`invalid cluster-store-opt "${kv}": expected key=value`);
    const key = kv.slice(0, i);
    if (!KNOWN.includes(key)) throw new Error(`invalid cluster-store-opt "${kv}": unknown option ${key} (known: ${KNOWN.join(', ')})`);
    o.set(key, kv.slice(i + 1));
  }
  for (const k of ['kv.cacertfile', 'kv.certfile', 'kv.keyfile']) {
    const f = o.get(k);
    if (f !== undefined && !existsSync(f)) throw new Error(`invalid cluster-store-opt ${k}=${f}: no such file`);
  }
  if (o.has('kv.certfile') !== o.has('kv.keyfile')) throw new Error('invalid cluster-store-opt: kv.certfile and kv.keyfile go together');
  const tlsOn = o.has('kv.cacertfile');
  if (!tlsOn && o.has('kv.certfile')) throw new Error('invalid cluster-store-opt: kv.certfile needs kv.cacertfile');
  const endpoints = m[2].split(',').map((h) => {
    if (!/^[^:,]+:\d+$/.test(h) && !/^\[[^\]]+\]:\d+$/.test(h)) throw new Error(`invalid cluster-store "${url}": "${h}" is not host:port`);
    return `${tlsOn ? 'https' : 'http'}://${h}`;
  });
  const ttl = o.has('discovery.ttl') ? seconds('discovery.ttl', o.get('discovery.ttl')!) : 60;
  if (o.has('discovery.heartbeat')) seconds('discovery.heartbeat', o.get('discovery.heartbeat')!); // checked; etcd's lease keep-alive sets the pace
  return {
    endpoints,
    tls: tlsOn ? { caFile: o.get('kv.cacertfile')!, certFile: o.get('kv.certfile'), keyFile: o.get('kv.keyfile') } : undefined,
    advertise: advertise || defaultRouteAddr(),
    ttlSeconds: ttl,
  };
}
