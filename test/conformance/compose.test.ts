import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runCmd, type Daemon } from '../helpers/daemons.js';
import { conformanceSkip, same, startPair, stopPair, type Pair } from './lib.js';

// docker-compose 1.29 (Debian) brings a project with two custom networks (static address,
// aliases, IPAM, internal) and an external network up and down on weftd and on dockerd 20.10.

const COMPOSE = '/usr/bin/docker-compose';
const FILE = join(REPO_ROOT, 'test/conformance/compose/docker-compose.yml');

const compose = async (d: Daemon, args: string[]) => {
  const r = await runCmd(COMPOSE, ['-p', 'cf', '-f', FILE, ...args], { env: { ...d.env, COMPOSE_API_VERSION: '1.41', DOCKER_API_VERSION: '1.41' }, timeoutMs: 120_000 });
  return { code: r.code, stderr: r.stderr };
};
const docker = async (d: Daemon, args: string[]) => (await d.docker(args, { env: { DOCKER_API_VERSION: '1.41' } })).stdout.trim();

describe('docker-compose conformance: networks (weftd vs dockerd)', { skip: conformanceSkip() || (!existsSync(COMPOSE) && `${COMPOSE} missing`), timeout: 180_000 }, () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(() => stopPair(pair));

  test('up -d, inspect, down', () =>
    same(pair, async (d) => {
      await docker(d, ['network', 'create', 'cf-external']);
      const up = await compose(d, ['up', '-d']);
      assert.equal(up.code, 0, `${d.kind}: docker-compose up failed:\n${up.stderr}`);
      const nets = (await docker(d, ['network', 'ls', '--filter', 'label=com.docker.compose.project=cf', '--format', '{{.Name}}'])).split('\n').sort();
      const netInspect = await docker(d, ['network', 'inspect', '-f', '{{.Name}} {{.Internal}} {{json .IPAM.Config}} {{index .Labels "tier"}} {{index .Labels "com.docker.compose.network"}}', 'cf_front', 'cf_back']);
      const eps = await docker(d, ['inspect', '-f', '{{.Name}}{{range $k, $v := .NetworkSettings.Networks}} | {{$k}} {{$v.IPAddress}} {{json $v.Aliases}}{{end}}', 'cf_web_1', 'cf_db_1']);
      const down = await compose(d, ['down']);
      assert.equal(down.code, 0, `${d.kind}: docker-compose down failed:\n${down.stderr}`);
      const left = (await docker(d, ['network', 'ls', '--format', '{{.Name}}'])).split('\n').sort();
      const ps = await docker(d, ['ps', '-aq']);
      // Aliases come in Go map order from compose's request: sort them.
      // Short IDs are random: name them before sorting, or the order would depend on their hex.
      const sortedEps = eps.replace(/\[[^\]]*\]/g, (m) => JSON.stringify((JSON.parse(m) as string[]).map((a) => (/^[0-9a-f]{12}$/.test(a) ? '<short>' : a)).sort()));
      return { nets, netInspect, eps: sortedEps.split('\n').map((l) => l.split(' | ').sort().join(' | ')), left, ps };
    }, {}, (s) => console.log(s)).then(() => undefined));
});
