import { after, before, describe, test } from 'node:test';
import type { Daemon } from '../helpers/daemons.js';
import { call, cli, conformanceSkip, same, startPair, stopPair, type Pair } from '../conformance/lib.js';

// Issue 11, defect 4: legacy links, weftd vs dockerd 20.10 with the real docker CLI.
// - `--link later:bar` on a user-defined network is a DNS alias of the endpoint: the target need
//   not exist yet, and `bar` resolves once `later` runs (weft refused the create with a 400).
// - `docker rm --link parent/alias` (DELETE /containers/parent/alias?link=1, the name unescaped)
//   removes a legacy link: inspect, /etc/hosts now, the variables at the next start (weft: 404).

describe('legacy links (weftd vs dockerd)', { skip: conformanceSkip(), timeout: 300_000 }, () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(() => stopPair(pair));
  const both = <T>(fn: (d: Daemon) => Promise<T>) => same(pair, fn, {}, (s) => console.log(s)).then(() => undefined);

  test('--link to a container created later, on a user-defined network, resolves once it runs', () =>
    both(async (d) => {
      await d.dockerOk(['network', 'create', '--subnet', '10.67.0.0/24', 'late-net']);
      const create = await cli(d, ['run', '-d', '--name', 'early', '--network', 'late-net', '--link', 'later:bar', 'alpine', 'sleep', '100000']);
      await d.dockerOk(['run', '-d', '--name', 'later', '--network', 'late-net', '--ip', '10.67.0.50', 'alpine', 'sleep', '100000']);
      const ping = await cli(d, ['exec', 'early', 'ping', '-c', '1', '-W', '2', 'bar']);
      const other = await cli(d, ['run', '--rm', '--network', 'late-net', 'alpine', 'ping', '-c', '1', '-W', '1', 'bar']);
      return {
        create: create.code,
        resolves: /PING bar \(10\.67\.0\.50\)/.test(ping.stdout) && ping.code === 0,
        onlyForTheLinker: other.code !== 0,
        links: await d.dockerOk(['inspect', '-f', '{{json .HostConfig.Links}} {{json (index .NetworkSettings.Networks "late-net").Links}}', 'early']),
        rmLink: await cli(d, ['rm', '--link', 'early/bar']),
      };
    }));

  test('docker rm --link removes a legacy link: inspect, /etc/hosts at once, link variables at the next start', () =>
    both(async (d) => {
      await d.dockerOk(['run', '-d', '--name', 'web', '-e', 'FOO=1', 'alpine', 'sleep', '100000']);
      await d.dockerOk(['run', '-d', '--name', 'client', '--link', 'web:db', '--link', 'web:db2', 'alpine', 'sleep', '100000']);
      // dockerd lists links (HostConfig.Links, /etc/hosts) in Go map order: sorted here.
      const links = async () => (JSON.parse(await d.dockerOk(['inspect', '-f', '{{json .HostConfig.Links}}', 'client'])) as string[] | null)?.sort() ?? null;
      const hosts = async () => (await d.dockerOk(['exec', 'client', 'cat', '/etc/hosts'])).split('\n').filter((l) => /\bweb\b/.test(l)).sort();
      const before = { hosts: await hosts(), links: await links() };
      const removed = await cli(d, ['rm', '--link', 'client/db']);
      const afterRm = { hosts: await hosts(), links: await links() };
      const refused = {
        again: await cli(d, ['rm', '--link', 'client/db']),
        defaultName: await cli(d, ['rm', '--link', 'web']),
        noSuchAlias: await cli(d, ['rm', '--link', 'client/nosuch']),
        noSuchParent: await cli(d, ['rm', '--link', 'nosuch/db2']),
        api: await call(d, 'DELETE', '/v1.41/containers/web?link=1'),
        apiDeep: await call(d, 'DELETE', '/v1.41/containers/a/b/c?link=1'),
      };
      const viaApi = await call(d, 'DELETE', '/v1.41/containers/client%2Fdb2?link=1');
      await d.dockerOk(['restart', '-t', '0', 'client']);
      const env = (await d.dockerOk(['exec', 'client', 'env'])).split('\n').filter((l) => l.startsWith('DB')).sort();
      return { before, removed, afterRm, refused, viaApi, afterRestart: { hosts: await hosts(), env, links: await links() } };
    }));
});
