import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, weftdBuilt, type Daemon } from '../helpers/daemons.js';
import { checkConsistency } from '../helpers/consistency.js';

// Regression tests for what test/e2e/crash-consistency.test.ts found (issue 11): weftd SIGKILLed
// between a record write and the work it records left, after the restart,
//  - connect: a running container listing a network it had no endpoint on (inspect showed it
//    there without an address, and nothing could reach it);
//  - disconnect: an endpoint (address, veth, interface) on a network the container no longer
//    listed; connecting again gave it a second endpoint on that network;
//  - create, and rm after the runtime's files were removed: a container record without runtime
//    files, which no start could ever run (and, when the remove was killed inside the runtime's
//    own removal, part of those files without any record);
//  - create killed while the runtime wrote the spec: an empty spec, "No such container" at every start.
// The restart now finishes the connect and the disconnect, and drops such records.

async function killedAt(d: Daemon, point: string, args: string[]): Promise<void> {
  await d.restart({ WEFT_FAULTS: `${point}=kill` });
  const r = await d.docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should have died with the daemon`);
  assert.match(readFileSync(d.logFile, 'utf8'), new RegExp(`"faultPoint":"${point.replace(/\./g, '\\.')}"`));
  await d.restart({});
  const { problems } = await checkConsistency(d);
  assert.deepEqual(problems, [], `after a kill at ${point}`);
}

const networksOf = async (d: Daemon, c: string) => d.dockerOk(['inspect', '-f', '{{range $n, $e := .NetworkSettings.Networks}}{{$n}}={{$e.IPAddress}} {{end}}', c]);

test('a restart finishes connects and disconnects cut short, and drops containers whose create or rm was cut short', { timeout: 180_000, skip: !weftdBuilt() && 'weftd not built' }, async (t) => {
  const d = await startDaemon('weft');
  t.after(() => d.stop());
  await d.dockerOk(['network', 'create', '--subnet', '10.93.1.0/24', 'net-a']);
  await d.dockerOk(['network', 'create', '--subnet', '10.93.2.0/24', 'net-b']);
  await d.dockerOk(['run', '-d', '--name', 'c1', '--network', 'net-a', 'alpine', 'sleep', '100000']);

  await killedAt(d, 'network.connect.after-record', ['network', 'connect', 'net-b', 'c1']);
  assert.match(await networksOf(d, 'c1'), /net-b=10\.93\.2\.\d+/, 'the connect was finished: c1 has an address on net-b');
  assert.match(await d.dockerOk(['exec', 'c1', 'ping', '-c', '1', '-W', '2', '10.93.2.1']), /1 packets received/);

  await killedAt(d, 'network.disconnect.after-record', ['network', 'disconnect', 'net-b', 'c1']);
  assert.doesNotMatch(await networksOf(d, 'c1'), /net-b/, 'the disconnect was finished');
  assert.doesNotMatch(await d.dockerOk(['exec', 'c1', 'ip', '-o', 'addr']), /10\.93\.2\./, "c1's address on net-b is gone");
  await d.dockerOk(['network', 'connect', 'net-b', 'c1']);
  assert.equal((await d.dockerOk(['network', 'inspect', '-f', '{{len .Containers}}', 'net-b'])), '1', 'one endpoint on net-b after connecting again');
  assert.deepEqual((await checkConsistency(d)).problems, []);

  await killedAt(d, 'container.create.after-record', ['create', '--name', 'c2', '--network', 'net-a', 'alpine', 'sleep', '100000']);
  assert.equal((await d.docker(['inspect', 'c2'])).code, 1, 'the create cut short left no container');
  await d.dockerOk(['run', '-d', '--name', 'c2', '--network', 'net-a', 'alpine', 'sleep', '100000']);

  await killedAt(d, 'container.rm.after-runtime', ['rm', '-f', 'c2']);
  assert.equal((await d.docker(['inspect', 'c2'])).code, 1, 'the rm cut short was finished');

  // A remove killed inside the runtime's own removal (rm -rf of the layer under way: the spec
  // gone, other files not yet): the record and the rest of the files go at the restart.
  await d.dockerOk(['run', '-d', '--name', 'c3', '--network', 'net-a', 'alpine', 'sleep', '100000']);
  const c3 = await d.dockerOk(['inspect', '-f', '{{.Id}}', 'c3']);
  await d.dockerOk(['stop', '-t', '0', 'c3']);
  await d.kill9();
  rmSync(join(d.dataRoot, 'containers', c3, 'spec.json'));
  await d.restart({});
  assert.equal((await d.docker(['inspect', 'c3'])).code, 1, 'its record is gone');
  assert.equal(existsSync(join(d.dataRoot, 'containers', c3)), false, 'and what was left of its files');

  // A create killed while the runtime wrote the spec (an empty file): the container could never
  // start ("No such container"). Specs are now written whole or not at all; an empty one counts
  // as none, so the restart drops the container.
  await d.dockerOk(['create', '--name', 'c4', '--network', 'net-a', 'alpine', 'sleep', '100000']);
  const c4 = await d.dockerOk(['inspect', '-f', '{{.Id}}', 'c4']);
  await d.kill9();
  writeFileSync(join(d.dataRoot, 'containers', c4, 'spec.json'), '');
  await d.restart({});
  assert.equal((await d.docker(['inspect', 'c4'])).code, 1, 'the container with an empty spec is gone');
  await d.dockerOk(['run', '-d', '--name', 'c4', '--network', 'net-a', 'alpine', 'sleep', '100000']);

  await d.dockerOk(['rm', '-f', 'c1', 'c4']);
  assert.deepEqual((await checkConsistency(d)).problems, []);
});
