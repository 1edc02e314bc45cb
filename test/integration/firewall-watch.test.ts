import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNetns } from '../helpers/netns.js';
import { CommandKernel } from '../../src/kernel/index.js';
import { fullTableScript } from '../../src/kernel/nft.js';
import { nftAlias, watchNftTable } from '../../src/kernel/firewall-watch.js';
import { helperPath } from '../../src/common/native.js';

// The firewall watch against the real kernel, in a throwaway namespace: weft's own batches (run
// as weft-nft) are not reported, foreign ones touching the table are, the admin's weft-user rules
// and other tables are not; a killed watch comes back and asks for a check.

const net = { bridge: 'br-w', icc: true, masquerade: true, internal: false, subnets4: ['10.9.0.0/24'], subnets6: [] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('firewall watch in a test namespace', async (t) => {
  const ns = createTestNetns('wf');
  const dir = mkdtempSync(join(tmpdir(), 'weft-watch-'));
  const k = new CommandKernel({ netns: ns.path, nft: nftAlias(dir) });
  const reports: string[][] = [];
  const watch = watchNftTable(k, { helper: helperPath('weft-nftwatch'), table: 'inet weft', userChain: 'weft-user', onForeignChange: (e) => reports.push(e) });
  t.after(() => {
    watch.stop();
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  watch.start();
  await sleep(300); // subscribed
  /** Waits for the reports to settle, returns them and starts afresh. */
  const take = async () => {
    await sleep(300);
    return reports.splice(0);
  };

  await t.test("weft's own batches are not reported", async () => {
    await k.nftApply(fullTableScript([net], [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerIp: '10.9.0.2', containerPort: 80 }]));
    await k.nftApply(fullTableScript([net]));
    assert.deepEqual(await take(), []);
  });

  await t.test('foreign changes to the table are, once per transaction', async () => {
    ns.run('nft', ['flush', 'set', 'inet', 'weft', 'bridges']);
    ns.run('nft', ['flush', 'chain', 'inet', 'weft', 'forward']);
    const got = await take();
    assert.deepEqual(got[0], ['delelem bridges']);
    assert.equal(got[1].length, 9, 'one event per deleted rule');
    assert.ok(got[1].every((e) => e === 'delrule forward'));
    assert.equal(got.length, 2);
    ns.run('nft', ['flush', 'ruleset']);
    const flushed = await take();
    assert.equal(flushed.length, 1);
    assert.ok(flushed[0].includes('deltable -') && flushed[0].includes('delchain weft-user'));
  });

  await t.test('the admin chain, other tables and reads are not', async () => {
    await k.nftApply(fullTableScript([net]));
    ns.run('nft', ['add', 'rule', 'inet', 'weft', 'weft-user', 'counter']);
    ns.run('nft', ['flush', 'chain', 'inet', 'weft', 'weft-user']);
    ns.run('nft', ['add', 'table', 'inet', 'other']);
    ns.run('nft', ['delete', 'table', 'inet', 'other']);
    ns.run('nft', ['list', 'ruleset']);
    assert.deepEqual(await take(), []);
  });

  await t.test('a killed watch is restarted and asks for a check', async () => {
    const pid = readdirSync('/proc').find((e) => /^\d+$/.test(e) && (() => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(`weft-nftwatch\0inet\0weft`) && readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(process.pid);
      } catch {
        return false;
      }
    })());
    assert.ok(pid, 'the watch runs as a child of this process');
    process.kill(Number(pid), 'SIGKILL');
    await sleep(700);
    assert.deepEqual(await take(), [['watch restarted']]);
    ns.run('nft', ['delete', 'table', 'inet', 'weft']);
    assert.equal((await take()).length, 1, 'and reports again');
  });
});
