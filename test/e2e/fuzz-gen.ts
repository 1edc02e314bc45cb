import fc from 'fast-check';

// Requests that a daemon must refuse, as fast-check arbitraries, for fuzz-api.test.ts (issue 11,
// bad input). Every generated request is wrong in at least one way Docker refuses, so any answer
// but a 4xx, and any change of state, is a finding: each mutation below is enough on its own.
// The daemon holds one network (NET) with one running container (CTR) on it, so requests aimed at
// real objects (rm, stop, connect) are tried too, made invalid by their path, query or body.

export const NET = 'fz-net';
export const CTR = 'fz-c';
export const NET_SUBNET = '10.213.0.0/24';

export interface HttpReq {
  via: 'http';
  method: string;
  path: string;
  body?: string | Buffer;
}
/** Bytes written on a connection of their own; the answer is read until the daemon closes it. */
export interface RawReq {
  via: 'raw';
  bytes: string | Buffer;
}
export type FuzzReq = HttpReq | RawReq;

const json = (v: unknown) => JSON.stringify(v);
const post = (path: string, body?: unknown): HttpReq => ({ via: 'http', method: 'POST', path, body: body === undefined ? undefined : json(body) });

// ---- values of the wrong JSON type (null is never among them: Go reads null as the zero value)

const notString = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }));
const notBool = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.array(fc.boolean(), { maxLength: 2 }), fc.constant({}));
const notObject = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }));
const notArray = fc.oneof(fc.integer(), fc.boolean(), fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { minKeys: 1, maxKeys: 2 }));

/** Names nothing has: 'n' and 'x' are no hex digits, so no id prefix matches either. */
export const nxName = fc.stringMatching(/^nx[a-z0-9_.-]{1,20}$/);
const freshName = fc.stringMatching(/^fzv[a-z0-9]{4,12}$/);
/** Container names Docker refuses: [a-zA-Z0-9][a-zA-Z0-9_.-]+ fails. */
const badContainerName = fc.oneof(
  fc.stringMatching(/^[a-z0-9]$/),
  fc.stringMatching(/^[._-][a-z0-9]{1,8}$/),
  fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.constantFrom(' ', '!', '$', '/', '*', ':', '@', '+', '%', '~', '\u00e9'), fc.stringMatching(/^[a-z]{0,6}$/)).map(([a, b, c]) => a + b + c),
);

// ---- addresses

const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc.tuple(fc.integer({ min: 0xfd00, max: 0xfdff }), fc.integer({ min: 1, max: 0xffff })).map(([a, b]) => `${a.toString(16)}::${b.toString(16)}`);
/** A /24 of 10.214-10.250 (not NET's): its addresses are x.y.z.1-254. */
const subnet24 = fc.tuple(fc.integer({ min: 214, max: 250 }), fc.nat(255)).map(([b, c]) => ({ subnet: `10.${b}.${c}.0/24`, host: (n: number) => `10.${b}.${c}.${n}`, outside: `10.${b}.${(c + 1) % 256}.7` }));
const subnet6 = fc.integer({ min: 1, max: 0xffff }).map((n) => ({ subnet: `fd00:${n.toString(16)}::/64`, host: `fd00:${n.toString(16)}::9`, outside: `fd01:${n.toString(16)}::9` }));
const looksLikeCidr = (s: string) => /^[0-9a-fA-F.:]+\/\d{1,3}$/.test(s);
/** Subnets no pool can be made of. */
const badCidr = fc.oneof(
  fc.constantFrom('', ' ', '10.0.0.0', '10.0.0.0/', '/24', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/24x', '300.0.0.0/8', '10.0.0/8', '010.0.0.0/8', 'fd00::/129', 'fd00:::/64', 'fe80::1%eth0/64', '10.0.0.0/8/8', '0x0a.0.0.0/8', 'localhost/8', '10.0.0.0 /8', '::ffff:/96x', '1.2.3.4/', '∞/8'),
  fc.string({ maxLength: 24 }).filter((s) => !looksLikeCidr(s)),
  fc.tuple(v4, fc.integer({ min: 33, max: 100000 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(v6, fc.integer({ min: 129, max: 100000 })).map(([a, p]) => `${a}/${p}`),
  // a valid CIDR with no room for a gateway: 400 since issue 11 (20.10: 500)
  fc.tuple(v4, fc.constantFrom(31, 32)).map(([a, p]) => `${a}/${p}`),
);

/** IPAM configs that are wrong: malformed subnets, families mixed, addresses outside. */
const badIpam = fc.oneof(
  badCidr.map((s) => ({ Config: [{ Subnet: s }] })),
  fc.tuple(subnet24, v6).map(([n, a]) => ({ Config: [{ Subnet: n.subnet, Gateway: a }] })),
  fc.tuple(subnet24, subnet6).map(([n, s]) => ({ Config: [{ Subnet: n.subnet, IPRange: s.subnet }] })),
  subnet24.map((n) => ({ Config: [{ Subnet: n.subnet, Gateway: n.outside }] })),
  subnet24.map((n) => ({ Config: [{ Subnet: n.subnet, IPRange: n.subnet.replace('/24', '/16') }] })),
  fc.tuple(subnet24, badCidr.filter((s) => s !== '')).map(([n, r]) => ({ Config: [{ Subnet: n.subnet, IPRange: r }] })),
  fc.tuple(subnet24, fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^[0-9a-fA-F.:]+$/.test(s))).map(([n, g]) => ({ Config: [{ Subnet: n.subnet, Gateway: g }] })),
  fc.tuple(subnet24, fc.oneof(v6, fc.constant('zz'))).map(([n, a]) => ({ Config: [{ Subnet: n.subnet, AuxiliaryAddresses: { x: a } }] })),
  subnet24.map((n) => ({ Config: [{ Subnet: n.subnet }, { Subnet: n.subnet.replace('.0/24', '.0/25') }] })),
  subnet24.map((n) => ({ Config: [{ Subnet: n.subnet, Gateway: n.host(0) }] })),
  fc.constant({ Config: [{ Subnet: NET_SUBNET }] }),
  nxName.map((d) => ({ Driver: d })),
);
/** With EnableIPv6, so the v6 entries count. */
const badIpam6 = fc.oneof(
  fc.tuple(subnet6, v4).map(([s, a]) => ({ Config: [{ Subnet: s.subnet, Gateway: a }] })),
  fc.tuple(subnet6, subnet24).map(([s, n]) => ({ Config: [{ Subnet: s.subnet, IPRange: n.subnet }] })),
  subnet6.map((s) => ({ Config: [{ Subnet: s.subnet, Gateway: s.outside }] })),
);

const notGoBool = fc.string({ maxLength: 8 }).filter((s) => !['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s));
const notGoInt = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/^[+-]?\d+$/.test(s));
const badOptions = fc.oneof(
  fc.record({ 'com.docker.network.driver.mtu': fc.oneof(notGoInt, fc.integer({ min: -100000, max: -1 }).map(String), fc.integer({ min: 1, max: 67 }).map(String), fc.integer({ min: 65536, max: 2 ** 31 }).map(String)) }),
  fc.record({ 'com.docker.network.bridge.enable_icc': notGoBool }),
  fc.record({ 'com.docker.network.bridge.enable_ip_masquerade': notGoBool }),
  fc.record({ 'com.docker.network.bridge.default_bridge': notGoBool }),
  fc.record({ 'com.docker.network.bridge.host_binding_ipv4': fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !/^[0-9a-fA-F.:]+$/.test(s)) }),
  fc.record({ 'com.docker.network.bridge.name': fc.oneof(fc.stringMatching(/^[a-z]{16,40}$/), fc.stringMatching(/^[a-z]{1,5}[/ !:%][a-z]{0,5}$/)) }),
);

// ---- POST /networks/create: a fresh name plus at least one mutation that makes it wrong

type Body = Record<string, unknown>;
const netMutation: fc.Arbitrary<(b: Body) => void> = fc.oneof(
  fc.constantFrom('', NET, 'bridge', 'host', 'none').map((n) => (b: Body) => void (b.Name = n)),
  fc.tuple(fc.constantFrom('Name', 'Driver', 'Scope'), notString).map(([k, v]) => (b: Body) => void (b[k] = v)),
  fc.tuple(fc.constantFrom('Internal', 'Attachable', 'EnableIPv6', 'CheckDuplicate', 'Ingress', 'ConfigOnly'), notBool).map(([k, v]) => (b: Body) => void (b[k] = v)),
  fc.tuple(fc.constantFrom('IPAM', 'Options', 'Labels', 'ConfigFrom'), notObject).map(([k, v]) => (b: Body) => void (b[k] = v)),
  fc.tuple(fc.constantFrom('Options', 'Labels'), fc.string({ maxLength: 6 }), notString).map(([k, key, v]) => (b: Body) => void (b[k] = { [key]: v })),
  notArray.map((v) => (b: Body) => void (b.IPAM = { Config: v })),
  fc.tuple(fc.constantFrom('Subnet', 'IPRange', 'Gateway'), notString).map(([k, v]) => (b: Body) => void (b.IPAM = { Config: [{ Subnet: '10.230.0.0/24', [k]: v }] })),
  notObject.map((v) => (b: Body) => void (b.IPAM = { Config: [{ Subnet: '10.230.0.0/24', AuxiliaryAddresses: v }] })),
  badIpam.map((ipam) => (b: Body) => void (b.IPAM = ipam)),
  badIpam6.map((ipam) => (b: Body) => void Object.assign(b, { EnableIPv6: true, IPAM: ipam })),
  nxName.map((d) => (b: Body) => void (b.Driver = d)),
  fc.constantFrom('host', 'null').map((d) => (b: Body) => void (b.Driver = d)),
  badOptions.map((o) => (b: Body) => void (b.Options = o)),
  nxName.map((p) => (b: Body) => void Object.assign(b, { Driver: 'macvlan', Options: { parent: p.replace(/\./g, '') } })),
);
export const networkCreateBody = fc.tuple(freshName, fc.array(netMutation, { minLength: 1, maxLength: 3 })).map(([name, muts]) => {
  const b: Body = { Name: name };
  for (const m of muts) m(b);
  return b;
});

// ---- POST /containers/create

const ctrMutation: fc.Arbitrary<(b: Body) => void> = fc.oneof(
  nxName.map((i) => (b: Body) => void (b.Image = `${i}:nx`)),
  fc.tuple(fc.constantFrom('Image', 'Hostname', 'User', 'WorkingDir'), notString).map(([k, v]) => (b: Body) => void (b[k] = v)),
  fc.tuple(fc.constantFrom('Tty', 'OpenStdin', 'AttachStdin'), notBool).map(([k, v]) => (b: Body) => void (b[k] = v)),
  fc.tuple(fc.constantFrom('Env', 'Cmd', 'Entrypoint'), fc.oneof(fc.integer(), fc.boolean(), fc.constant({ a: 1 }), fc.constant([1, 2]))).map(([k, v]) => (b: Body) => void (b[k] = v)),
  fc.tuple(fc.constantFrom('HostConfig', 'NetworkingConfig', 'Labels', 'ExposedPorts'), notObject).map(([k, v]) => (b: Body) => void (b[k] = v)),
  nxName.map((n) => (b: Body) => void (b.HostConfig = { NetworkMode: n })),
  notString.map((n) => (b: Body) => void (b.HostConfig = { NetworkMode: n })),
  fc.stringMatching(/^NX[A-Z]{1,8}$/).map((c) => (b: Body) => void (b.HostConfig = { CapAdd: [c] })),
  nxName.map((n) => (b: Body) => void (b.NetworkingConfig = { EndpointsConfig: { [n]: {} } })),
  notObject.map((v) => (b: Body) => void (b.NetworkingConfig = { EndpointsConfig: v })),
);
const containerCreate: fc.Arbitrary<HttpReq> = fc.oneof(
  fc.array(ctrMutation, { minLength: 1, maxLength: 3 }).map((muts) => {
    const b: Body = { Image: 'busybox', Cmd: ['true'] };
    for (const m of muts) m(b);
    return post('/containers/create', b);
  }),
  fc.oneof(badContainerName, fc.constant(CTR)).map((n) => post(`/containers/create?name=${encodeURIComponent(n)}`, { Image: 'busybox', Cmd: ['true'] })),
);

// ---- connect, disconnect, exec: bodies that are wrong

const endpointMutation = fc.oneof(
  fc.tuple(fc.constantFrom('Aliases', 'Links'), notArray).map(([k, v]) => ({ [k]: v })),
  notObject.map((v) => ({ IPAMConfig: v })),
  fc.tuple(fc.constantFrom('IPv4Address', 'IPv6Address'), notString).map(([k, v]) => ({ IPAMConfig: { [k]: v } })),
  notObject.map((v) => ({ DriverOpts: v })),
);
const connectReq = fc.oneof(
  fc.tuple(fc.constantFrom(NET, 'bridge'), notString).map(([n, c]) => post(`/networks/${n}/connect`, { Container: c })),
  fc.tuple(fc.constantFrom(NET, 'bridge'), nxName).map(([n, c]) => post(`/networks/${n}/connect`, { Container: c })),
  fc.tuple(fc.constantFrom(NET, 'bridge'), endpointMutation).map(([n, e]) => post(`/networks/${n}/connect`, { Container: CTR, EndpointConfig: e })),
  nxName.map((n) => post(`/networks/${n}/connect`, { Container: CTR })),
  fc.constant(post(`/networks/${NET}/connect`, { Container: CTR })), // already connected: 403
  fc.constant(post('/networks/bridge/connect', { Container: CTR, EndpointConfig: { IPAMConfig: { IPv4Address: '172.17.0.99' } } })),
  fc.constantFrom('host', 'none').map((n) => post(`/networks/${n}/connect`, { Container: CTR })),
  fc.tuple(nxName, fc.option(notBool, { nil: undefined })).map(([c, f]) => post(`/networks/${NET}/disconnect`, { Container: c, Force: f })),
  fc.tuple(notString, fc.boolean()).map(([c, f]) => post(`/networks/${NET}/disconnect`, { Container: c, Force: f })),
  notBool.map((f) => post(`/networks/${NET}/disconnect`, { Container: CTR, Force: f })),
  fc.constant(post('/networks/bridge/disconnect', { Container: CTR })), // not connected there
);
const execReq = fc.oneof(
  fc.constantFrom(undefined, [], 5, 'sh', { a: 1 }, [1]).map((cmd) => post(`/containers/${CTR}/exec`, { Cmd: cmd })),
  fc.tuple(fc.constantFrom('AttachStdin', 'Tty', 'Privileged'), notBool).map(([k, v]) => post(`/containers/${CTR}/exec`, { Cmd: ['true'], [k]: v })),
  nxName.map((c) => post(`/containers/${c}/exec`, { Cmd: ['true'] })),
  nxName.map((e) => post(`/exec/${e}/start`, { Detach: true })),
  nxName.map((e) => ({ via: 'http' as const, method: 'GET', path: `/exec/${e}/json` })),
);

// ---- objects that do not exist, any verb

const notFoundReq: fc.Arbitrary<HttpReq> = fc.tuple(nxName, fc.constantFrom(
  ['GET', '/networks/%s'], ['DELETE', '/networks/%s'], ['GET', '/containers/%s/json'], ['DELETE', '/containers/%s?force=1'],
  ['POST', '/containers/%s/start'], ['POST', '/containers/%s/stop'], ['POST', '/containers/%s/restart'], ['POST', '/containers/%s/kill'],
  ['POST', '/containers/%s/rename?name=fzr'], ['POST', '/containers/%s/wait'], ['GET', '/containers/%s/logs?stdout=1'], ['POST', '/containers/%s/resize?h=1&w=1'],
  ['GET', '/images/%s/json'], ['DELETE', '/images/%s'], ['POST', '/images/%s/tag?repo=x'], ['GET', '/volumes/%s'], ['GET', '/plugins/%s/json'],
)).map(([n, [m, p]]) => ({ via: 'http' as const, method: m, path: p.replace('%s', n) }));

// ---- query strings

/** Filters of neither of Docker's shapes. */
const badFilterShape = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }),
  fc.constantFrom('[]', '"x"', '5', 'true', '{"label":"x"}', '{"label":[1]}', '{"label":{"x":"yes"}}'),
);
/** Also keys a list or prune does not know (events takes any key, as dockerd's does). */
const badFilters = fc.oneof(badFilterShape, fc.constantFrom('{"until":["abc"]}', '{"until":{"nope":true}}'), nxName.map((k) => json({ [k]: ['x'] })));
const queryReq: fc.Arbitrary<HttpReq> = fc.oneof(
  badFilterShape.map((f) => ({ via: 'http' as const, method: 'GET', path: `/events?since=1&until=2&filters=${encodeURIComponent(f)}` })),
  fc.tuple(fc.constantFrom(['GET', '/networks'], ['GET', '/containers/json?all=1'], ['POST', '/networks/prune'], ['POST', '/containers/prune']), badFilters).map(([[m, p], f]) => ({
    via: 'http' as const,
    method: m,
    path: `${p}${p.includes('?') ? '&' : '?'}filters=${encodeURIComponent(f)}`,
  })),
  fc.stringMatching(/^[a-z]{1,8}$/).map((s) => ({ via: 'http' as const, method: 'GET', path: `/containers/json?filters=${encodeURIComponent(json({ status: [`nx${s}`] }))}` })),
  fc.oneof(fc.stringMatching(/^NX[A-Z]{0,6}$/), fc.integer({ min: 65, max: 1e9 }).map(String), fc.constant('0')).map((s) => post(`/containers/${CTR}/kill?signal=${s}`)),
  fc.tuple(fc.constantFrom('stop', 'restart'), notGoInt.filter((s) => !s.includes('&') && !s.includes('#'))).map(([v, t]) => post(`/containers/${CTR}/${v}?t=${encodeURIComponent(t)}`)),
  fc.stringMatching(/^NX[A-Z]{0,6}$/).map((s) => post(`/containers/${CTR}/stop?signal=${s}`)),
  notGoInt.map((l) => ({ via: 'http' as const, method: 'GET', path: `/containers/json?limit=${encodeURIComponent(l)}` })),
  fc.tuple(notGoInt, fc.nat(100)).map(([h, w]) => post(`/containers/${CTR}/resize?h=${encodeURIComponent(h)}&w=${w}`)),
  fc.stringMatching(/^nx[a-z-]{0,10}$/).map((c) => post(`/containers/${CTR}/wait?condition=${c}`)),
  fc.oneof(badContainerName, fc.constant(''), fc.constant(CTR)).map((n) => post(`/containers/${CTR}/rename?name=${encodeURIComponent(n)}`)),
  fc.constantFrom(`/containers/${CTR}/logs`, `/containers/${CTR}/logs?follow=1`).map((p) => ({ via: 'http' as const, method: 'GET', path: p })), // no stream chosen
);

// ---- path tricks on real routes, destructive ones included: each trick alone makes it a 4xx

const realRoutes: [string, string, unknown][] = [
  ['DELETE', `/networks/${NET}`, undefined],
  ['DELETE', `/containers/${CTR}?force=1`, undefined],
  ['POST', `/containers/${CTR}/stop?t=0`, undefined],
  ['POST', `/containers/${CTR}/kill`, undefined],
  ['POST', `/networks/${NET}/disconnect`, { Container: CTR, Force: true }],
  ['POST', '/networks/create', { Name: 'fzpath' }],
  ['POST', '/containers/create?name=fzpath', { Image: 'busybox' }],
  ['POST', '/networks/prune', undefined],
  ['POST', '/containers/prune', undefined],
  ['GET', `/networks/${NET}`, undefined],
];
const badEscape = fc.constantFrom('%', '%z', '%zz', '%4', '%G1', '%%', '%-1', '%u0041');
const tooOld = fc.tuple(fc.constantFrom(0, 1), fc.nat(23)).map(([a, b]) => `${a}.${b}`);
const tooNew = fc.oneof(fc.integer({ min: 46, max: 999 }).map((b) => `1.${b}`), fc.tuple(fc.integer({ min: 2, max: 99 }), fc.nat(99)).map(([a, b]) => `${a}.${b}`), fc.constant('1.99999999999999999999'));
const notAVersion = fc.constantFrom('v1', 'vabc', 'v1.41.2', 'V1.41', 'v1.4a', 'v.41', 'v-1.41');
const pathTrick: fc.Arbitrary<(path: string) => string> = fc.oneof(
  fc.tuple(badEscape, fc.nat()).map(([e, at]) => (p: string) => {
    const q = p.indexOf('?');
    const end = q < 0 ? p.length : q;
    const i = 1 + (at % end);
    return p.slice(0, i) + e + p.slice(i);
  }),
  badEscape.map((e) => (p: string) => `${p}${p.includes('?') ? '&' : '?'}x=${e}`),
  fc.oneof(tooOld, tooNew).map((v) => (p: string) => `/v${v}${p}`),
  notAVersion.map((v) => (p: string) => `/${v}${p}`),
  // (no empty segment here: /containers//fz-c names the container "/fz-c", which is fz-c)
  fc.constantFrom('..', '.', '%2e%2e', '%2E.', 'x').map((seg) => (p: string) => {
    const [path, q] = p.split('?');
    const parts = path.split('/');
    parts.splice(2, 0, seg); // /networks/<seg>/fz-net
    return parts.join('/') + (q ? `?${q}` : '');
  }),
  fc.constantFrom('//', '///').map((s) => (p: string) => s + p.slice(1)),
  fc.stringMatching(/^[a-z0-9]{1,10}$/).map((seg) => (p: string) => {
    const [path, q] = p.split('?');
    return `${path}/${seg}` + (q ? `?${q}` : '');
  }),
  fc.integer({ min: 2000, max: 12000 }).map((n) => (p: string) => {
    const [path, q] = p.split('?');
    return `${path}/${'a'.repeat(n)}` + (q ? `?${q}` : '');
  }),
);
const pathTrickReq: fc.Arbitrary<HttpReq> = fc.tuple(fc.constantFrom(...realRoutes), pathTrick).map(([[m, p, b], trick]) => ({
  via: 'http' as const,
  method: m,
  path: trick(p),
  body: b === undefined ? undefined : json(b),
}));

// ---- bodies that are no JSON, or too much of it

const notJson = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => { try { JSON.parse(s); return false; } catch { return s.trim() !== ''; } }),
  networkCreateBody.map((b) => json(b).slice(0, -1)),
  fc.constantFrom('{', '{"Name":', '{"Name": "a",}', "{'Name':'a'}", '{"Name":"a"}x', 'nul', '\u0000', '{"Name":"\\x41"}', '[1,]'),
);
const bodyReq: fc.Arbitrary<HttpReq> = fc.oneof(
  fc.tuple(fc.constantFrom('/networks/create', '/containers/create', `/networks/${NET}/connect`, `/networks/${NET}/disconnect`, `/containers/${CTR}/exec`), notJson).map(([p, body]) => ({ via: 'http' as const, method: 'POST', path: p, body })),
  fc.tuple(fc.constantFrom('/networks/create', '/containers/create', `/networks/${NET}/connect`), fc.constantFrom('[]', '[1,2]', '"str"', '5', 'true')).map(([p, body]) => ({ via: 'http' as const, method: 'POST', path: p, body })),
  fc.integer({ min: 1000, max: 100000 }).map((depth) => ({ via: 'http' as const, method: 'POST', path: '/networks/create', body: '['.repeat(depth) + ']'.repeat(depth) })),
);
/** Big but under the limit, and wrong: 1-3 MB of labels on a network without a name (rare: they cost memory to make). */
const bigBodyReq: fc.Arbitrary<HttpReq> = fc.integer({ min: 1, max: 3 }).map((mb) => post('/networks/create', { Name: '', Labels: Object.fromEntries(Array.from({ length: mb * 20000 }, (_, i) => [`k${i}`, 'v'.repeat(40)])) }));

// ---- raw bytes: garbage the HTTP parser refuses, on a path that would be a 404 anyway

const TARGET = '/nx-raw';
const rawReq: fc.Arbitrary<RawReq> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim() !== '').map((s) => ({ via: 'raw' as const, bytes: `${s}\r\n\r\n` })),
  fc.constantFrom('BREW', 'G ET', 'get', 'GET\t', '\u0000GET', 'PRI').map((m) => ({ via: 'raw' as const, bytes: `${m} ${TARGET} HTTP/1.1\r\nHost: d\r\n\r\n` })),
  fc.constantFrom('HTTP/9.9', 'HTTP/1', 'HTTP/1.1x', 'HTTPS/1.1', 'http/1.1', '').map((v) => ({ via: 'raw' as const, bytes: `GET ${TARGET} ${v}\r\nHost: d\r\n\r\n` })),
  fc.constantFrom('Bad Header', 'X-\u0000: 1', ': empty', 'X Y: 1', 'X-A:\u0001b', 'Content-Length: abc', 'Content-Length: -1', 'Content-Length: 1\r\nContent-Length: 2', 'Transfer-Encoding: chunked\r\nContent-Length: 3', 'Transfer-Encoding: gzip', ' folded: x')
    .map((h) => ({ via: 'raw' as const, bytes: `POST ${TARGET} HTTP/1.1\r\nHost: d\r\n${h}\r\n\r\n` })),
  fc.constantFrom('zz\r\nabc\r\n', 'ffffffffffffffffffff\r\n', '-1\r\n', '3\r\nabcdef\r\n0\r\n\r\n', '\r\n\r\n', '0x3\r\nabc\r\n0\r\n\r\n', 'g\r\n')
    .map((c) => ({ via: 'raw' as const, bytes: `POST /networks/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${c}` })),
  fc.integer({ min: 17, max: 100 }).map((kb) => ({ via: 'raw' as const, bytes: `GET ${TARGET} HTTP/1.1\r\nHost: d\r\nX-Big: ${'a'.repeat(kb * 1024)}\r\n\r\n` })),
  fc.constant({ via: 'raw' as const, bytes: `GET /_ping HTTP/1.1\r\nUser-Agent: no-host\r\n\r\n` }),
  fc.constantFrom(`/containers/nx1/attach?stream=1&stdout=1`, `/exec/nx1/start`, '/networks/create').map((p) => ({ via: 'raw' as const, bytes: `POST ${p} HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n` })),
  fc.constant({ via: 'raw' as const, bytes: `POST /containers/${CTR}/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 99999999999\r\n\r\n{` }),
  // a pipelined 404 and then garbage: both answered
  fc.constant({ via: 'raw' as const, bytes: `GET ${TARGET} HTTP/1.1\r\nHost: d\r\n\r\nGARBAGE\r\n\r\n` }),
);

const HUGE = Buffer.alloc(17 * 1024 * 1024, 'x');
const hugeReq: fc.Arbitrary<RawReq> = fc.constant({
  via: 'raw' as const,
  bytes: Buffer.concat([Buffer.from(`POST /networks/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${HUGE.length}\r\n\r\n`), HUGE]),
});

/** One bad request, weighted so every kind is met many times in 10,000. */
export const badRequest: fc.Arbitrary<FuzzReq> = fc.oneof(
  { arbitrary: networkCreateBody.map((b) => post('/networks/create', b)), weight: 600 },
  { arbitrary: containerCreate, weight: 160 },
  { arbitrary: connectReq, weight: 160 },
  { arbitrary: execReq, weight: 80 },
  { arbitrary: notFoundReq, weight: 120 },
  { arbitrary: queryReq, weight: 200 },
  { arbitrary: pathTrickReq, weight: 320 },
  { arbitrary: bodyReq, weight: 120 },
  { arbitrary: rawReq, weight: 240 },
  { arbitrary: bigBodyReq, weight: 6 },
  { arbitrary: hugeReq, weight: 1 },
);
