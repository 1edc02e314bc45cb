import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, weftdBuilt } from '../helpers/daemons.js';

// Lazy bridges through the API: `network create` makes no kernel object, the first container
// realizes the network (bridge, gateway, nft elements, and the embedded DNS binds on the gateway
// then, even long after the create), `network rm` of a never-used network touches nothing, and
// both kinds survive a daemon restart.

test('bridge networks are realized by their first container', { timeout: 180_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  const ok = (args: string[]) => d.dockerOk(args);
  const bridgeOf = async (net: string) => `br-${(await ok(['network', 'inspect', '-f', '{{.Id}}', net])).slice(0, 12)}`;
  const hasLink = (name: string) => {
    const links = JSON.parse(d.netns.run('ip', ['-j', 'link', 'show'])) as { ifname: string }[];
    return links.some((l) => l.ifname === name);
  };
  const inBridgesSet = (name: string) => d.netns.run('nft', ['list', 'set', 'inet', 'weft', 'bridges']).includes(`"${name}"`);

  await t.test('create and rm of an unused network touch no kernel object', async () => {
    await ok(['network', 'create', '--subnet', '10.78.1.0/24', '--gateway', '10.78.1.1', 'lazy-unused']);
    const br = await bridgeOf('lazy-unused');
    assert.equal(hasLink(br), false, 'no bridge before a container joins');
    assert.equal(inBridgesSet(br), false, 'no nft element either');
    const ipam = await ok(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', 'lazy-unused']);
    assert.equal(ipam, '10.78.1.0/24 10.78.1.1', 'inspect shows the gateway all the same');
    await ok(['network', 'rm', 'lazy-unused']);
  });

  await ok(['network', 'create', '--subnet', '10.78.2.0/24', 'lazy-a']);
  await ok(['network', 'create', '--subnet', '10.78.3.0/24', 'lazy-later']);
  const brA = await bridgeOf('lazy-a');
  const brLater = await bridgeOf('lazy-later');

  await t.test('the first container realizes the network; names resolve although DNS gave up retrying', async () => {
    // Past the DNS listener's ~10 s bind retry: only the realization hook can bind it now.
    await new Promise((r) => setTimeout(r, 11_500));
    assert.equal(hasLink(brA), false);
    await ok(['run', '-dit', '--name', 'la1', '--network', 'lazy-a', 'alpine', 'ash']);
    await ok(['run', '-dit', '--name', 'la2', '--network', 'lazy-a', '-p', '18080:80', 'alpine', 'ash']);
    assert.equal(hasLink(brA), true);
    assert.equal(inBridgesSet(brA), true);
    const la2 = await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "lazy-a").IPAddress}}', 'la2']);
    const t0 = Date.now();
    const r = await d.docker(['exec', 'la1', 'nslookup', 'la2']);
    assert.match(r.stdout, new RegExp(`Address: ${la2.replace(/\./g, '\\.')}`), r.stdout + r.stderr);
    assert.ok(Date.now() - t0 < 4000, 'answered by a bound listener, not after resolver timeouts');
    assert.match(await ok(['exec', 'la1', 'ping', '-c', '1', '-W', '2', 'la2']), /1 packets received/);
    assert.match(d.netns.run('nft', ['list', 'map', 'inet', 'weft', 'pub4']), /18080/, 'published port in place');
  });

  await t.test('restart keeps realized networks and leaves unrealized ones alone', async () => {
    await d.kill9();
    await d.restart();
    assert.equal(hasLink(brA), true);
    assert.equal(inBridgesSet(brA), true);
    assert.equal(hasLink(brLater), false, 'a never-joined network stays kernel-free');
    assert.equal(inBridgesSet(brLater), false);
    assert.match(await ok(['exec', 'la1', 'ping', '-c', '1', '-W', '2', 'la2']), /1 packets received/, 'names after restart');
    // First join after the restart realizes the other network, DNS included.
    await ok(['run', '-dit', '--name', 'll1', '--network', 'lazy-later', 'alpine', 'ash']);
    await ok(['run', '-dit', '--name', 'll2', '--network', 'lazy-later', 'alpine', 'ash']);
    assert.equal(hasLink(brLater), true);
    assert.match(await ok(['exec', 'll1', 'ping', '-c', '1', '-W', '2', 'll2']), /1 packets received/);
    const isolated = await d.docker(['exec', 'll1', 'ping', '-c', '1', '-W', '1', '10.78.2.2']);
    assert.notEqual(isolated.code, 0, 'networks stay isolated');
  });

  await t.test('rm after the last container leaves removes the kernel objects', async () => {
    await ok(['rm', '-f', 'la1', 'la2', 'll1', 'll2']);
    await ok(['network', 'rm', 'lazy-a', 'lazy-later']);
    assert.equal(hasLink(brA), false);
    assert.equal(hasLink(brLater), false);
    assert.equal(inBridgesSet(brA), false);
  });
});
