import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, weftdBuilt, type Daemon } from '../helpers/daemons.js';
import { checkConsistency, nftProblems } from '../helpers/consistency.js';
import { conmons, daemonLinks, nftElements } from '../helpers/kernel-view.js';

// The consistency checker (test/helpers/consistency.ts) must see what it claims to: each kind of
// disagreement between the records and the kernel is made by hand here, and must be reported.

async function problems(d: Daemon, reachability = false): Promise<string[]> {
  return (await checkConsistency(d, { settleMs: 0, reachability })).problems;
}

function expectProblem(found: string[], pattern: RegExp, what: string): void {
  assert.ok(found.some((p) => pattern.test(p)), `${what}: want a problem matching ${pattern}, got ${JSON.stringify(found)}`);
}

test('the consistency checker reports strays, missing objects, duplicate addresses and lost reachability', { timeout: 120_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  await d.dockerOk(['network', 'create', '--subnet', '10.94.0.0/24', 'chk']);
  await d.dockerOk(['run', '-d', '--name', 'ca', '--network', 'chk', '-p', '80', 'alpine', 'sleep', '100000']);
  await d.dockerOk(['run', '-d', '--name', 'cb', '--network', 'chk', 'alpine', 'sleep', '100000']);
  const clean = await checkConsistency(d);
  assert.deepEqual(clean.problems, []);
  assert.ok(clean.checks > 50, `${clean.checks} checks`);
  const b = clean.store.containers.find((c) => c.name === 'cb')!;

  d.netns.run('ip', ['link', 'add', 'br-0123456789ab', 'type', 'bridge']);
  expectProblem(await problems(d), /bridge br-0123456789ab belongs to no network/, 'a stray bridge');
  d.netns.run('ip', ['link', 'del', 'br-0123456789ab']);

  d.netns.run('ip', ['link', 'add', 'veth0badbad', 'type', 'veth', 'peer', 'name', 'vethpeer0']);
  expectProblem(await problems(d), /veth veth0badbad .*belongs to no endpoint/, 'a stray veth');
  d.netns.run('ip', ['link', 'del', 'veth0badbad']);

  // weftd's firewall watch restores its table within moments of a foreign change, so the nft
  // comparison is shown on real readings with an element added and one taken away.
  const elements = await nftElements(d);
  assert.ok(typeof elements !== 'string', String(elements));
  const links = await daemonLinks(d);
  assert.deepEqual(nftProblems(clean.store, links, elements), []);
  const pub = [...elements].find((e) => e.startsWith('pub4: '))!;
  assert.match(pub, /^pub4: tcp \. \d+ : 10\.94\.0\.\d+ \. 80$/);
  const altered = new Set([...elements].filter((e) => e !== pub).concat('bridges: bogus0'));
  const found = nftProblems(clean.store, links, altered);
  expectProblem(found, /nft: element bridges: bogus0 belongs to no record/, 'a stray nft element');
  expectProblem(found, new RegExp(`nft: element ${pub.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is missing`), "a published port's element gone");

  const fresh = await checkConsistency(d);
  assert.deepEqual(fresh.problems, []);
  const a2 = fresh.store.containers.find((c) => c.name === 'ca')!;
  const epA2 = fresh.store.endpoints.find((e) => e.containerId === a2.id)!;
  const inA2 = (args: string[]) => d.netns.run('nsenter', [`--net=${a2.netnsPath}`, ...args]);
  const epB = fresh.store.endpoints.find((e) => e.containerId === b.id)!;
  inA2(['ip', 'addr', 'add', epB.ipv4, 'dev', 'eth0']);
  expectProblem(await problems(d), new RegExp(`address ${epB.ipv4.split('/')[0]}/24 held twice`), 'an address held twice');
  inA2(['ip', 'addr', 'del', epB.ipv4, 'dev', 'eth0']);

  inA2(['ip', 'route', 'del', 'default']);
  expectProblem(await problems(d), /ca's default routes \[\], want one via/, 'a lost default route');
  inA2(['ip', 'route', 'add', 'default', 'via', epA2.gateway4]);

  d.netns.run('ip', ['link', 'set', epA2.hostIfname, 'nomaster']);
  const lost = await problems(d, true);
  expectProblem(lost, new RegExp(`veth ${epA2.hostIfname} is up on no bridge`), 'a veth off its bridge');
  expectProblem(lost, /reach: ca cannot ping 10\.94\.0\.1 \(gateway of chk\)/, 'a gateway out of reach');
  d.netns.run('ip', ['link', 'set', epA2.hostIfname, 'master', 'br-' + fresh.store.networks.find((n) => n.name === 'chk')!.id.slice(0, 12)]);
  assert.deepEqual(await problems(d, true), []);

  const monitor = conmons(d).get(b.id)![0];
  process.kill(monitor, 'SIGKILL');
  expectProblem(await problems(d), /running cb has no conmon/, 'a monitor gone');
});
