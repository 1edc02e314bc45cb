import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, weftdBuilt } from '../helpers/daemons.js';

// Name resolution in real containers (busybox nslookup/ping): names, aliases, round robin,
// live disconnect, and legacy links on the default bridge vs link aliases on user networks.

test('embedded DNS and links in real containers', { timeout: 240_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  const ok = (args: string[]) => d.dockerOk(args);
  const sh = (ctr: string, script: string) => d.docker(['exec', ctr, 'sh', '-c', script]);

  await ok(['network', 'create', 'dns-a']);
  await ok(['network', 'create', 'dns-b']);
  await ok(['run', '-dit', '--name', 'c1', '--network', 'dns-a', 'alpine', 'ash']);
  await ok(['run', '-dit', '--name', 'c2', '--network', 'dns-a', '--network-alias', 'svc', 'alpine', 'ash']);
  await ok(['run', '-dit', '--name', 'c3', '--network', 'dns-a', '--network-alias', 'svc', 'alpine', 'ash']);
  await ok(['run', '-dit', '--name', 'other', '--network', 'dns-b', 'alpine', 'ash']);
  const ip = (c: string, net: string) => ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c]);
  const c2 = await ip('c2', 'dns-a');
  const c3 = await ip('c3', 'dns-a');

  await t.test('resolv.conf points at the network gateway with ndots:0', async () => {
    const resolv = (await sh('c1', 'cat /etc/resolv.conf')).stdout;
    const gw = await ok(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', 'dns-a']);
    assert.match(resolv, new RegExp(`^nameserver ${gw.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(resolv, /^options ndots:0$/m);
  });

  await t.test('names, short IDs, case and the network suffix resolve; other networks do not', async () => {
    assert.match((await sh('c1', 'nslookup c2')).stdout, new RegExp(`Address: ${c2}`));
    assert.match((await sh('c1', 'nslookup C2')).stdout, new RegExp(`Address: ${c2}`));
    assert.match((await sh('c1', 'nslookup c2.dns-a')).stdout, new RegExp(`Address: ${c2}`));
    const short = (await ok(['inspect', '-f', '{{.Id}}', 'c2'])).slice(0, 12);
    assert.match((await sh('c1', `nslookup ${short}`)).stdout, new RegExp(`Address: ${c2}`));
    const miss = await sh('c1', 'ping -c 1 -W 1 other');
    assert.match(miss.stderr + miss.stdout, /bad address 'other'/);
  });

  await t.test('an alias shared by two containers answers both, rotated', async () => {
    const out = (await sh('c1', 'nslookup -type=a svc')).stdout;
    assert.match(out, new RegExp(`Address: ${c2}`));
    assert.match(out, new RegExp(`Address: ${c3}`));
    const firsts = new Set<string>();
    for (let i = 0; i < 4; i++) firsts.add(/Address: (\d+\.\d+\.\d+\.\d+)/.exec((await sh('c1', 'nslookup -type=a svc')).stdout.split('Name:')[1] ?? '')?.[1] ?? '');
    assert.equal(firsts.size, 2, 'round robin changes the first answer');
  });

  await t.test('reverse lookup names the container', async () => {
    assert.match((await sh('c1', `nslookup ${c2}`)).stdout, /c2/);
  });

  await t.test('connect makes names visible at once, disconnect removes them at once', async () => {
    await ok(['network', 'connect', 'dns-b', 'c1']);
    assert.match((await sh('c1', 'ping -c 1 -W 2 other')).stdout, /1 packets received/);
    await ok(['network', 'disconnect', 'dns-b', 'c1']);
    const gone = await sh('c1', 'ping -c 1 -W 1 other');
    assert.match(gone.stderr + gone.stdout, /bad address 'other'/);
  });

  await t.test('--link on a user-defined network is an alias only that container resolves', async () => {
    const r = await d.docker(['run', '--rm', '--network', 'dns-a', '--link', 'c2:db', 'alpine', 'sh', '-c', 'ping -c 1 -W 2 db; env']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`PING db \\(${c2.replace(/\./g, '\\.')}\\)`));
    assert.doesNotMatch(r.stdout, /DB_NAME=/, 'no link variables on user-defined networks');
    const other = await sh('c1', 'ping -c 1 -W 1 db');
    assert.match(other.stderr + other.stdout, /bad address 'db'/);
  });

  await t.test('legacy link on the default bridge: hosts entry and link variables', async () => {
    await ok(['run', '-d', '--name', 'web', '-e', 'FOO=bar', '--expose', '80', 'busybox', 'httpd', '-f', '-p', '80']);
    const webIp = await ip('web', 'bridge');
    const r = await d.docker(['run', '--rm', '--name', 'client', '--link', 'web:db', 'alpine', 'sh', '-c', 'grep db /etc/hosts; env | sort; ping -c 1 -W 2 db']);
    assert.equal(r.code, 0, r.stderr);
    const webShort = (await ok(['inspect', '-f', '{{.Id}}', 'web'])).slice(0, 12);
    assert.match(r.stdout, new RegExp(`^${webIp.replace(/\./g, '\\.')}\\tdb ${webShort} web$`, 'm'));
    for (const line of ['DB_NAME=/client/db', `DB_PORT=tcp://${webIp}:80`, `DB_PORT_80_TCP=tcp://${webIp}:80`, `DB_PORT_80_TCP_ADDR=${webIp}`, 'DB_PORT_80_TCP_PORT=80', 'DB_PORT_80_TCP_PROTO=tcp', 'DB_ENV_FOO=bar']) {
      assert.match(r.stdout, new RegExp(`^${line.replace(/[./]/g, (m) => '\\' + m)}$`, 'm'), line);
    }
    await ok(['stop', '-t', '1', 'web']);
    const refused = await d.docker(['run', '--rm', '--link', 'web:db', 'alpine', 'true']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Cannot link to a non running container: \/web AS \/.+\/db/);
    const missing = await d.docker(['run', '--rm', '--link', 'nosuch:db', 'alpine', 'true']);
    assert.match(missing.stderr, /could not get container for nosuch/);
  });
});
