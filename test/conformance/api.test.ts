import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../helpers/daemons.js';
import { byName, call, type CaseOptions, conformanceSkip, q, same, startPair, stopPair, type Pair } from './lib.js';

// The raw Engine API, network endpoints, against weftd and dockerd 20.10 in the same run. Every
// compared request names API 1.41 (dockerd 20.10's own) so both daemons answer the same version;
// the version-dependent tests at the end run on weft alone.

const V = '/v1.41';
const net = (d: Daemon, path: string) => call(d, 'GET', `${V}${path}`);
const sorted = async (d: Daemon, path: string) => {
  const r = await call(d, 'GET', `${V}${path}`);
  return { status: r.status, body: byName(r.body) };
};
const names = async (d: Daemon, path: string) => {
  const r = await call(d, 'GET', `${V}${path}`);
  return Array.isArray(r.body) ? { status: r.status, names: (r.body as { Name: string }[]).map((n) => n.Name).sort() } : r;
};
const shell = async (d: Daemon, args: string[]) => {
  const r = await d.docker(args);
  if (r.code !== 0) throw new Error(`${d.kind}: docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

describe('Engine API conformance: networks (weftd vs dockerd)', { skip: conformanceSkip(), timeout: 180_000 }, () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(() => stopPair(pair));
  const both = <T>(fn: (d: Daemon) => Promise<T>, known?: { reason: string; weft: unknown }, tolerate?: CaseOptions['tolerate']) =>
    same(pair, fn, { known, tolerate }, (s) => console.log(s)).then(() => undefined);

  test('GET /networks on a fresh daemon', () => both((d) => sorted(d, '/networks')));
  test('GET /networks/bridge, /host, /none', async () => {
    for (const n of ['bridge', 'host', 'none']) await both((d) => net(d, `/networks/${n}`));
  });

  test('create: full options, labels, internal, attachable, ipam', () =>
    both(async (d) => {
      const r = await call(d, 'POST', `${V}/networks/create`, {
        Name: 'full',
        CheckDuplicate: true,
        Driver: 'bridge',
        Internal: true,
        Attachable: true,
        EnableIPv6: false,
        Labels: { 'com.example.a': '1', b: '' },
        Options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.driver.mtu': '1400' },
        IPAM: { Driver: 'default', Config: [{ Subnet: '10.77.0.0/16', IPRange: '10.77.1.0/24', Gateway: '10.77.0.254', AuxiliaryAddresses: { host1: '10.77.0.5' } }], Options: { foo: 'bar' } },
      });
      return { create: r, inspect: await net(d, '/networks/full') };
    }));
  test('create: subnet only (IPAM config echoed as given)', () =>
    both(async (d) => {
      await call(d, 'POST', `${V}/networks/create`, { Name: 'sub', CheckDuplicate: true, IPAM: { Config: [{ Subnet: '10.78.0.0/24' }] } });
      return net(d, '/networks/sub');
    }));
  test('create: automatic subnet, minimal body', () =>
    both(async (d) => {
      const r = await call(d, 'POST', `${V}/networks/create`, { Name: 'auto' });
      return { create: r, inspect: await net(d, '/networks/auto') };
    }));
  test('create: CheckDuplicate true on an existing name is 409', () => both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'auto', CheckDuplicate: true })));
  test('create: errors (empty name, predefined drivers, bad subnet, bad gateway, unknown driver)', async () => {
    for (const body of [{ Name: '' }, {}]) {
      await both((d) => call(d, 'POST', `${V}/networks/create`, body), {
        reason: 'dockerd 20.10 answers 500 for an empty network name; weft answers 400 (same message)',
        weft: { status: 400, body: { message: 'invalid name: ' } },
      });
    }
    await both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'bridge' }));
    await both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'none', CheckDuplicate: true }));
    await both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'bad name!' }));
    await both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'h2', Driver: 'host' }));
    await both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'n2', Driver: 'null' }));
    await both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'x1', Driver: 'nosuchdriver' }));
    await both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'x2', IPAM: { Config: [{ Subnet: '10.5.0.0/16', Gateway: '10.6.0.1' }] } }), {
      reason: 'dockerd 20.10 answers 500 "failed to allocate gateway (10.6.0.1): Requested address is out of range"; weft answers 400 with Docker 25\'s ValidateIPAM text',
      weft: { status: 400, body: { message: "invalid network config:\ninvalid gateway 10.6.0.1: parent subnet 10.5.0.0/16 doesn't contain this address" } },
    });
    await both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'x3', IPAM: { Config: [{ Subnet: '10.78.0.0/25' }] } }));
    await both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'x4', IPAM: { Driver: 'nosuchipam' } }));
  });
  test('create: invalid subnet is 400 (dockerd 20.10: 500, same message)', () =>
    both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'x5', IPAM: { Config: [{ Subnet: '10.5.0.0/33' }] } }), {
      reason: 'dockerd 20.10 answers 500 for a malformed subnet; weft answers 400 as later dockers do (the CLI prints the same message)',
      weft: { status: 400, body: { message: 'Invalid subnet 10.5.0.0/33 : invalid CIDR address: 10.5.0.0/33' } },
    }));
  test('create: bad driver option is 400 (dockerd 20.10: 500, same message)', () =>
    both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'x6', Options: { 'com.docker.network.driver.mtu': 'abc' } }), {
      reason: 'dockerd 20.10 answers 500 for an unparsable driver option; weft answers 400',
      weft: { status: 400, body: { message: 'failed to parse com.docker.network.driver.mtu value: abc (strconv.Atoi: parsing "abc": invalid syntax)' } },
    }));
  test('create: body of the wrong type is 400', () => both((d) => call(d, 'POST', `${V}/networks/create`, { Name: 'x7', Internal: 'yes' })));

  test('lookup: full id, unique prefix, name; ambiguous prefix; not found', async () => {
    await both(async (d) => {
      const id = ((await call(d, 'GET', `${V}/networks/auto`)).body as { Id: string }).Id;
      return [await net(d, `/networks/${id}`), await net(d, `/networks/${id.slice(0, 12)}`), (await net(d, `/networks/${id.slice(0, 12)}`)).status];
    });
    await both((d) => net(d, '/networks/nosuchnet'));
    await both((d) => call(d, 'DELETE', `${V}/networks/nosuchnet`));
  });
  test('lookup: a network named like another one\'s id prefix: name wins', () =>
    both(async (d) => {
      const id = ((await call(d, 'GET', `${V}/networks/auto`)).body as { Id: string }).Id;
      const prefix = id.slice(0, 5);
      await call(d, 'POST', `${V}/networks/create`, { Name: prefix, CheckDuplicate: true });
      const got = ((await net(d, `/networks/${prefix}`)).body as { Name: string }).Name === prefix;
      await call(d, 'DELETE', `${V}/networks/${prefix}`);
      return got;
    }));

  test('list filters: driver, name, id, label, scope, type', async () => {
    await both((d) => names(d, `/networks?filters=${q({ driver: ['bridge'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ driver: ['null', 'host'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ name: ['u'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ name: ['bri', 'non'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ label: ['com.example.a'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ label: ['com.example.a=1'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ label: ['com.example.a=2'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ label: ['b='] })}`));
    await both((d) => names(d, `/networks?filters=${q({ label: ['com.example.a', 'b'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ scope: ['local'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ scope: ['swarm'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ type: ['custom'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ type: ['builtin'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ type: ['builtin', 'custom'] })}`));
    await both((d) => names(d, `/networks?filters=${q({ dangling: ['false'] })}`));
    await both(async (d) => {
      const id = ((await call(d, 'GET', `${V}/networks/auto`)).body as { Id: string }).Id;
      return names(d, `/networks?filters=${q({ id: [id.slice(0, 6)] })}`);
    });
    await both((d) => names(d, `/networks?filters=${encodeURIComponent(JSON.stringify({ driver: ['bridge'] }))}`));
  });
  test('list filters: invalid ones', async () => {
    await both((d) => call(d, 'GET', `${V}/networks?filters=${q({ foo: ['x'] })}`));
    await both((d) => call(d, 'GET', `${V}/networks?filters=${q({ dangling: ['yes'] })}`));
    await both((d) => call(d, 'GET', `${V}/networks?filters=notjson`), {
      reason: "dockerd 20.10 answers 500 with Go's JSON decoder message for a filters value that is not JSON; weft answers 400",
      weft: { status: 400, body: { message: 'invalid filter: notjson' } },
    });
    await both((d) => call(d, 'GET', `${V}/networks?filters=${q({ type: ['x'] })}`), {
      reason: "dockerd 20.10 answers 500 for type=x; weft answers 400 like later dockers (same message)",
      weft: { status: 400, body: { message: "invalid filter: 'type'='x'" } },
    });
  });

  test('containers: setup', async () => {
    await both(async (d) => {
      await shell(d, ['network', 'create', '--subnet', '10.9.0.0/24', '--label', 'k=v', 'u1']);
      await shell(d, ['network', 'create', 'u2']);
      await shell(d, ['create', '--name', 'c1', 'alpine', 'sleep', '1000']);
      await shell(d, ['run', '-d', '--name', 'c2', '--network', 'u1', '--ip', '10.9.0.9', '--network-alias', 'al1', 'alpine', 'sleep', '1000']);
      await shell(d, ['create', '--name', 'ch', '--network', 'host', 'alpine', 'sleep', '100']);
      await shell(d, ['run', '-d', '--name', 'chr', '--network', 'host', 'alpine', 'sleep', '100']);
      await shell(d, ['create', '--name', 'cn', '--network', 'none', 'alpine', 'sleep', '100']);
      return true;
    });
  });
  const connect = (d: Daemon, n: string, body: unknown) => call(d, 'POST', `${V}/networks/${n}/connect`, body);
  const disconnect = (d: Daemon, n: string, body: unknown) => call(d, 'POST', `${V}/networks/${n}/disconnect`, body);
  test('connect: host and none rules', async () => {
    await both((d) => connect(d, 'host', { Container: 'c1' }));
    await both((d) => connect(d, 'none', { Container: 'c1' }));
    await both((d) => connect(d, 'u2', { Container: 'ch' }));
    await both((d) => connect(d, 'u2', { Container: 'chr' }));
    await both((d) => connect(d, 'u2', { Container: 'cn' }));
    await both((d) => disconnect(d, 'host', { Container: 'chr' }));
    await both((d) => disconnect(d, 'none', { Container: 'cn' }));
  });
  // dockerd answers 500 for "is not connected"; weft 409 with the same text (issue 11)
  const notConnected = {
    reason: 'dockerd 20.10 answers 500 for a container not connected; weft answers 409, same message',
    fn: (v: { status?: number; body?: { message?: string } }) => (v?.status === 409 && /is not connected to/.test(v.body?.message ?? '') ? { ...v, status: 500 } : v),
  };
  test('connect/disconnect: errors', async () => {
    await both((d) => disconnect(d, 'u2', { Container: 'c1' }), undefined, notConnected);
    await both((d) => disconnect(d, 'u2', { Container: 'c2' }), undefined, notConnected);
    await both((d) => disconnect(d, 'u2', { Container: 'nope' }));
    await both((d) => connect(d, 'u2', { Container: 'nope' }));
    await both((d) => connect(d, 'nosuchnet', { Container: 'c2' }));
    await both((d) => connect(d, 'u1', { Container: 'c2' }));
    await both((d) => connect(d, 'u2', { Container: 'c2', EndpointConfig: { IPAMConfig: { IPv4Address: '10.9.0.9' } } }));
    await both((d) => connect(d, 'bridge', { Container: 'c2', EndpointConfig: { Aliases: ['x'] } }));
    await both((d) => connect(d, 'bridge', { Container: 'c2', EndpointConfig: { IPAMConfig: { IPv4Address: '172.17.0.50' } } }));
    await both((d) => connect(d, 'u1', { Container: 'c1', EndpointConfig: { IPAMConfig: { IPv4Address: '10.9.0.9' } } }));
    await both((d) => connect(d, 'u2', { EndpointConfig: {} }));
  });
  test('connect: aliases, links, static address; inspect shows them', async () => {
    await both((d) => connect(d, 'u2', { Container: 'c2', EndpointConfig: { Aliases: ['x', 'y'], Links: ['c1:foo'] } }));
    await both((d) => connect(d, 'u1', { Container: 'c1', EndpointConfig: { IPAMConfig: { IPv4Address: '10.9.0.20' }, Aliases: ['one'] } }));
    await both(async (d) => ((await call(d, 'GET', `${V}/containers/c2/json`)).body as { NetworkSettings: unknown }).NetworkSettings);
    await both(async (d) => ((await call(d, 'GET', `${V}/containers/c1/json`)).body as { NetworkSettings: unknown }).NetworkSettings, undefined, {
      reason: 'c1 never ran: dockerd leaves NetworkID empty until the endpoint is first created, weft fills it (src/api/format/container.ts, reported)',
      fn: (ns: { Networks: Record<string, { NetworkID: string }> }) => ({ ...ns, Networks: Object.fromEntries(Object.entries(ns.Networks).map(([k, v]) => [k, { ...v, NetworkID: '' }])) }),
    });
    await both((d) => net(d, '/networks/u1'));
    await both((d) => net(d, '/networks/u2?verbose=true'));
  });
  test('inspect: scope and verbose query parameters', async () => {
    await both((d) => net(d, '/networks/u1?scope=local'));
    await both((d) => net(d, '/networks/u1?scope=global&verbose=true'));
    await both((d) => net(d, '/networks/u1?scope=swarm'));
    await both((d) => net(d, '/networks/u1?scope=bad'));
  });
  test('remove: predefined and in-use networks', async () => {
    for (const n of ['bridge', 'host', 'none']) await both((d) => call(d, 'DELETE', `${V}/networks/${n}`));
    await both((d) => call(d, 'DELETE', `${V}/networks/u1`));
  });
  test('disconnect: force, then not connected', async () => {
    await both((d) => disconnect(d, 'u2', { Container: 'c2', Force: true }), undefined, notConnected);
    await both((d) => disconnect(d, 'u2', { Container: 'c2' }), undefined, notConnected);
    await both((d) => disconnect(d, 'u1', { Container: 'c1' }), undefined, notConnected);
    await both((d) => disconnect(d, 'u1', { Container: 'c1' }), undefined, notConnected);
  });
  test('GET /containers/json?filters=network', async () => {
    const ps = async (d: Daemon, f: Record<string, string[]>) => {
      const r = await call(d, 'GET', `${V}/containers/json?all=1&filters=${q(f)}`);
      return Array.isArray(r.body) ? (r.body as { Names: string[] }[]).map((c) => c.Names[0]).sort() : r;
    };
    await both((d) => ps(d, { network: ['u1'] }));
    await both((d) => ps(d, { network: ['bridge'] }));
    await both((d) => ps(d, { network: ['host'] }));
    await both((d) => ps(d, { network: ['nosuchnet'] }));
  });
  test('prune: filters and result', async () => {
    await both((d) => call(d, 'POST', `${V}/networks/prune?filters=${q({ until: ['bad'] })}`), {
      reason: 'dockerd 20.10 answers 500 for an unparsable until; weft answers 400 (same message)',
      weft: { status: 400, body: { message: 'failed to parse value as time or duration: "bad"' } },
    });
    await both((d) => call(d, 'POST', `${V}/networks/prune?filters=${q({ driver: ['bridge'] })}`));
    await both(async (d) => byName((await call(d, 'POST', `${V}/networks/prune?filters=${q({ until: ['2000-01-01T00:00:00Z'] })}`)).body));
    await both(async (d) => {
      const r = await call(d, 'POST', `${V}/networks/prune?filters=${q({ label: ['com.example.a'] })}`);
      return { status: r.status, deleted: ((r.body as { NetworksDeleted: string[] | null }).NetworksDeleted ?? []).sort() };
    });
    await both(async (d) => {
      const r = await call(d, 'POST', `${V}/networks/prune?filters=${encodeURIComponent(JSON.stringify({ 'label!': { k: true } }))}`);
      return { status: r.status, deleted: ((r.body as { NetworksDeleted: string[] | null }).NetworksDeleted ?? []).sort() };
    });
    await both(async (d) => {
      const r = await call(d, 'POST', `${V}/networks/prune`);
      return { status: r.status, deleted: ((r.body as { NetworksDeleted: string[] | null }).NetworksDeleted ?? []).sort() };
    });
    await both((d) => call(d, 'POST', `${V}/networks/prune`));
  });
  test('CheckDuplicate false on API < 1.44 creates a second network with a warning', () =>
    both(async (d) => {
      const a = await call(d, 'POST', `${V}/networks/create`, { Name: 'dup', CheckDuplicate: true });
      const b = await call(d, 'POST', `${V}/networks/create`, { Name: 'dup' });
      const get = await net(d, '/networks/dup');
      const del = await call(d, 'DELETE', `${V}/networks/dup`);
      const pruned = await call(d, 'POST', `${V}/networks/prune`);
      return { a, b, get, del, pruned: { status: pruned.status, deleted: ((pruned.body as { NetworksDeleted: string[] }).NetworksDeleted ?? []).sort() } };
    }));

  test('lookup: ambiguous ID prefix (last: it moves the default-pool cursor by a random amount)', async () => {
    // Ambiguous ID prefix: networks are made until two ids share their first digit.
    await both(async (d) => {
      const made: string[] = [];
      let shared: string | undefined;
      for (let i = 0; i < 17 && !shared; i++) {
        const all = (await call(d, 'GET', `${V}/networks`)).body as { Id: string }[];
        const counts = new Map<string, number>();
        for (const n of all) counts.set(n.Id[0], (counts.get(n.Id[0]) ?? 0) + 1);
        shared = [...counts].find(([, c]) => c > 1)?.[0];
        if (!shared) made.push(((await call(d, 'POST', `${V}/networks/create`, { Name: `amb${i}`, CheckDuplicate: true })).body as { Id: string }).Id);
      }
      const r = await net(d, `/networks/${shared}`);
      const del = await call(d, 'DELETE', `${V}/networks/${shared}`);
      for (const id of made) await call(d, 'DELETE', `${V}/networks/${id}`);
      // The count in the message depends on the random ids.
      const m = (x: { body: unknown }) => String((x.body as { message: string }).message).replace(/\d+ matches/, 'N matches').replace(/network \w+ /, 'network P ');
      return [r.status, m(r), del.status, m(del)];
    });
  });

  // ---- weft alone: version-dependent answers dockerd 20.10 cannot give.
  test('versions: /v1.24 to /v1.45 accepted, outside refused', async () => {
    const w = pair.weft;
    for (const v of ['1.24', '1.41', '1.44', '1.45']) assert.equal((await call(w, 'GET', `/v${v}/networks`)).status, 200, v);
    assert.deepEqual(await call(w, 'GET', '/v1.46/networks'), { status: 400, body: { message: 'client version 1.46 is too new. Maximum supported API version is 1.45' } });
    assert.deepEqual(await call(w, 'GET', '/v1.23/networks'), { status: 400, body: { message: 'client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version' } });
  });
  test('versions: list carries Containers before 1.28', async () => {
    const w = pair.weft;
    await shell(w, ['network', 'create', 'vnet']);
    await shell(w, ['run', '-d', '--name', 'vc', '--network', 'vnet', 'alpine', 'sleep', '1000']);
    const old = (await call(w, 'GET', `/v1.27/networks?filters=${q({ name: ['vnet'] })}`)).body as { Containers: Record<string, unknown> }[];
    assert.equal(Object.keys(old[0].Containers).length, 1);
    const cur = (await call(w, 'GET', `/v1.28/networks?filters=${q({ name: ['vnet'] })}`)).body as { Containers: Record<string, unknown> }[];
    assert.deepEqual(cur[0].Containers, {});
  });
  test('versions: CheckDuplicate is always on from 1.44', async () => {
    const r = await call(pair.weft, 'POST', '/v1.44/networks/create', { Name: 'vnet', CheckDuplicate: false });
    assert.deepEqual(r, { status: 409, body: { message: 'network with name vnet already exists' } });
  });
  test('versions: DNSNames from 1.44, container-id alias before', async () => {
    const w = pair.weft;
    const get = async (v: string) => ((await call(w, 'GET', `/v${v}/containers/vc/json`)).body as { Id: string; NetworkSettings: { Networks: Record<string, { Aliases: string[] | null; DNSNames?: string[] | null }> } });
    const old = await get('1.43');
    assert.ok(!('DNSNames' in old.NetworkSettings.Networks.vnet));
    assert.deepEqual(old.NetworkSettings.Networks.vnet.Aliases, [old.Id.slice(0, 12)]);
    const cur = await get('1.45');
    assert.deepEqual(cur.NetworkSettings.Networks.vnet.DNSNames, ['vc', cur.Id.slice(0, 12)]);
  });
});
