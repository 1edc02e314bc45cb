import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { startDaemon, type Daemon } from '../helpers/daemons.js';

// No value from the API reaches a shell or a command line of its own. weftd runs every process
// with an argument vector (never a shell), and the two places where text becomes commands (the
// `ip -batch` lines and the `nft -f` scripts) validate every value they take. This sends shell
// metacharacters and line breaks that would become a second ip or nft command through names,
// labels, options, addresses, env, DNS settings and security options, starts what was accepted,
// and checks that nothing ran: no marker file, no link or table of the payloads' names, the
// daemon alive, weft's table intact, and a value that was accepted arrives verbatim.

const tag = randomBytes(4).toString('hex');
const MARK = `/tmp/weft-inj-${tag}`;

/** Payloads for slot i: shell substitutions and separators, and lines that would be ip/nft commands. */
function payloads(i: number): string[] {
  return [
    `$(touch ${MARK}-${i}a)`,
    `\`touch ${MARK}-${i}b\``,
    `x;touch ${MARK}-${i}c`,
    `x|touch ${MARK}-${i}d`,
    `x&&touch ${MARK}-${i}e`,
    `x\ntouch ${MARK}-${i}f`,
    `x\nlink add wi${tag.slice(0, 4)}${i} type bridge`,
    `x\nadd table inet wi${tag}${i}`,
    `x' "; touch ${MARK}-${i}g #`,
  ];
}

describe('shell metacharacters through the API (weft)', { timeout: 600_000 }, () => {
  let d: Daemon;
  const statuses: string[] = [];
  const created: string[] = [];
  before(async () => {
    d = await startDaemon('weft');
    await d.dockerOk(['network', 'create', '--subnet', '10.240.0.0/24', 'inj']);
    await d.dockerOk(['run', '-d', '--name', 'target', '--network', 'inj', 'busybox', 'sleep', '600']);
  });
  after(async () => {
    await d?.stop();
  });

  // Bad input gets a 4xx, except where dockerd itself answers 500 with the same text (checked
  // against dockerd 20.10: an invalid IPRange is libnetwork's InternalError).
  const DOCKER_500 = [/^failed to parse pool request for address space .* Invalid Address SubPool$/s];
  const call = async (what: string, method: string, path: string, body?: unknown) => {
    const r = await d.api(method, path, body);
    statuses.push(`${r.status} ${what}`);
    const dockers = r.status === 500 && DOCKER_500.some((re) => re.test(r.json?.message ?? ''));
    assert.ok(r.status < 500 || dockers, `${what}: ${r.status} ${r.text}`);
    return r;
  };

  test('networks: names, labels, driver options, IPAM, macvlan parent, connect aliases and addresses', async () => {
    let slot = 0;
    for (const p of payloads(slot++)) {
      const nets: Record<string, unknown>[] = [
        { Name: p },
        { Name: `l${slot}`, Labels: { [p]: p } },
        { Name: `b${slot}`, Options: { 'com.docker.network.bridge.name': p } },
        { Name: `m${slot}`, Options: { 'com.docker.network.driver.mtu': p } },
        { Name: `o${slot}`, Options: { [p]: p } },
        { Name: `s${slot}`, IPAM: { Config: [{ Subnet: p }] } },
        { Name: `g${slot}`, IPAM: { Config: [{ Subnet: '10.250.0.0/24', Gateway: p }] } },
        { Name: `r${slot}`, IPAM: { Config: [{ Subnet: '10.251.0.0/24', IPRange: p }] } },
        { Name: `v${slot}`, Driver: 'macvlan', Options: { parent: p } },
        { Name: `w${slot}`, Driver: 'macvlan', Options: { parent: 'lo', macvlan_mode: p } },
      ];
      for (const body of nets) {
        const r = await call(`network create ${JSON.stringify(body)}`, 'POST', '/networks/create', body);
        if (r.status === 201) {
          // Realize it: a container joins (the bridge and its nft elements are made now).
          const c = await call('create on it', 'POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: r.json.Id } });
          if (c.status === 201) await call('start on it', 'POST', `/containers/${c.json.Id}/start`);
          await d.api('DELETE', `/containers/${c.json?.Id}?force=1`);
          await call('network rm', 'DELETE', `/networks/${r.json.Id}`);
        }
      }
      await call('connect alias', 'POST', '/networks/bridge/connect', { Container: 'target', EndpointConfig: { Aliases: [p] } });
      await call('connect ip', 'POST', '/networks/bridge/connect', { Container: 'target', EndpointConfig: { IPAMConfig: { IPv4Address: p } } });
      await d.api('POST', '/networks/bridge/disconnect', { Container: 'target', Force: true });
      await call('network filter', 'GET', `/networks?filters=${encodeURIComponent(JSON.stringify({ name: [p], label: [p] }))}`);
    }
  });

  test('containers: name, env, labels, hostname, workdir, user, DNS, hosts, ports, MAC, security options; then started and exec', async () => {
    let slot = 100;
    for (const p of payloads(slot++)) {
      const bodies: [string, Record<string, unknown>, string?][] = [
        ['name', {}, p],
        ['env', { Env: [`A=${p}`, p] }],
        ['labels', { Labels: { [p]: p } }],
        ['hostname', { Hostname: p, Domainname: p }],
        ['workdir', { WorkingDir: p }],
        ['user', { User: p }],
        ['dns', { HostConfig: { NetworkMode: 'inj', Dns: [p], DnsSearch: [p], DnsOptions: [p], ExtraHosts: [`h:${p}`] } }],
        ['port host ip', { ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostIp: p, HostPort: '8080' }] } } }],
        ['port host port', { ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: p }] } } }],
        ['exposed port', { ExposedPorts: { [p]: {} } }],
        ['mac', { MacAddress: p, HostConfig: { NetworkMode: 'inj' }, NetworkingConfig: { EndpointsConfig: { inj: { MacAddress: p } } } }],
        ['alias', { HostConfig: { NetworkMode: 'inj' }, NetworkingConfig: { EndpointsConfig: { inj: { Aliases: [p] } } } }],
        ['security opt', { HostConfig: { SecurityOpt: [p, `seccomp=${p}`, `apparmor=${p}`, `label=${p}`] } }],
        ['cap add', { HostConfig: { CapAdd: [p] } }],
        ['network mode', { HostConfig: { NetworkMode: p } }],
      ];
      for (const [what, extra, name] of bodies) {
        const body = { Image: 'busybox', Cmd: ['true'], ...extra };
        const r = await call(`create ${what} ${JSON.stringify(p)}`, 'POST', `/containers/create${name ? `?name=${encodeURIComponent(name)}` : ''}`, body);
        if (r.status !== 201) continue;
        created.push(r.json.Id);
        await call(`start ${what}`, 'POST', `/containers/${r.json.Id}/start`);
        await call(`rm ${what}`, 'DELETE', `/containers/${r.json.Id}?force=1`);
      }
      const ex = await call('exec create', 'POST', '/containers/target/exec', { Cmd: ['true'], Env: [`B=${p}`], WorkingDir: '/', User: '' });
      await call('exec start', 'POST', `/exec/${ex.json.Id}/start`, { Detach: true });
      const bad = await d.api('POST', '/containers/target/exec', { Cmd: ['true'], User: p, WorkingDir: p });
      if (bad.status === 201) await call('exec start (user, workdir)', 'POST', `/exec/${bad.json.Id}/start`, { Detach: true });
      await call('container filter', 'GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [p], label: [p] }))}`);
    }
    assert.ok(created.length > 20, `many payloads were accepted as plain data (${created.length})`);
  });

  test('nothing ran, nothing leaked into ip or nft, and accepted values arrive verbatim', async () => {
    await new Promise((r) => setTimeout(r, 500));
    const marks = readdirSync('/tmp').filter((f) => f.startsWith(`weft-inj-${tag}`));
    assert.deepEqual(marks, [], 'no marker file was created');
    const links = d.netns.run('ip', ['-o', 'link', 'show']);
    assert.doesNotMatch(links, new RegExp(`wi${tag.slice(0, 4)}`), 'no link of a payload');
    const tables = d.netns.run('nft', ['list', 'tables']);
    assert.doesNotMatch(tables, new RegExp(`wi${tag}`), 'no nft table of a payload');
    assert.match(tables, /table inet weft/);
    // exec start with Detach over a plain POST, failing: this used to take weftd down
    const ex = await d.api('POST', '/containers/target/exec', { Cmd: ['true'], User: 'no;such' });
    assert.equal((await d.api('POST', `/exec/${ex.json.Id}/start`, { Detach: true })).status, 400);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(d.pid(), 'weftd is still running');
    assert.equal((await d.api('GET', '/_ping')).status, 200);
    const p = payloads(0)[0];
    const env = await d.docker(['run', '--rm', '-e', `A=${p}`, 'busybox', 'sh', '-c', 'printf %s "$A"']);
    assert.equal(env.stdout, p, 'the environment value is the payload itself');
    process.stdout.write(`# ${statuses.length} requests: ${[...new Set(statuses.map((s) => s.slice(0, 3)))].sort().join(', ')}; ${created.length} containers created with payloads\n`);
  });
});
