import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Daemon } from '../helpers/daemons.js';
import { startSwarmLab, waitFor, type SwarmLab } from '../helpers/swarm-lab.js';

// `docker swarm init --default-addr-pool P --default-addr-pool-mask-length N --data-path-port X`:
// overlay subnets come from the swarm's own pool in /N blocks, and VXLAN runs on UDP port X.

let lab: SwarmLab;
let d1: Daemon, d2: Daemon;

before(async () => {
  lab = await startSwarmLab(2);
  [d1, d2] = lab.daemons;
});
after(() => lab.stop());

test('swarm init --default-addr-pool/--default-addr-pool-mask-length/--data-path-port shape the overlays', async () => {
  await d1.dockerOk(['swarm', 'init', '--advertise-addr', lab.hosts[0].addr, '--default-addr-pool', '10.100.0.0/16', '--default-addr-pool-mask-length', '26', '--data-path-port', '7789']);
  const token = await d1.dockerOk(['swarm', 'join-token', '-q', 'worker']);
  await d2.dockerOk(['swarm', 'join', '--token', token, `${lab.hosts[0].addr}:2377`]);
  assert.equal(await d1.dockerOk(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'ingress']), '10.100.0.0/26');
  await d1.dockerOk(['network', 'create', '-d', 'overlay', '--attachable', 'pooled']);
  assert.equal(await d1.dockerOk(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'pooled']), '10.100.0.64/26');
  await d1.dockerOk(['run', '-d', '--name', 'p1', '--network', 'pooled', 'busybox', 'sleep', '600']);
  await waitFor('pooled on host2', async () => (await d2.dockerOk(['network', 'ls', '--format', '{{.Name}}'])).split('\n').includes('pooled'), 10_000);
  await d2.dockerOk(['run', '-d', '--name', 'p2', '--network', 'pooled', 'busybox', 'sleep', '600']);
  const [ns] = readdirSync(join(d1.execRoot, 'overlay'));
  const link = execFileSync('nsenter', [`--net=${join(d1.execRoot, 'overlay', ns)}`, 'ip', '-d', 'link', 'show', 'type', 'vxlan'], { encoding: 'utf8' });
  assert.match(link, /dstport 7789/);
  assert.match(link, /nolearning/);
  assert.match(link, /proxy/);
  const r = await d2.docker(['exec', 'p2', 'ping', '-c', '1', '-W', '2', 'p1']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await d1.dockerOk(['rm', '-f', 'p1']);
  await d2.dockerOk(['rm', '-f', 'p2']);
  await d2.dockerOk(['swarm', 'leave']);
  await d1.dockerOk(['swarm', 'leave', '--force']);
});
