import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nftAlias, WatchParser, watchNftTable } from '../../src/kernel/firewall-watch.js';
import { CommandKernel } from '../../src/kernel/index.js';
import { FirewallKeeper } from '../../src/daemon/firewall.js';
import { createLogger } from '../../src/common/log.js';

test('WatchParser: transactions end at gen lines, split anywhere; the admin chain does not count', () => {
  const p = new WatchParser('weft-user');
  const text = 'ready\nev delrule forward\nev delelem bridges\ngen 7 123 nft\nev newrule weft-user\nev delrule weft-user\ngen 8 124 nft\nev newelem pub4\ngen 9 125 weft-nft\nlost\n';
  const outs = [p.feed(text.slice(0, 13)), p.feed(text.slice(13, 40)), p.feed(text.slice(40))];
  assert.equal(outs[0].ready, true);
  const txs = outs.flatMap((o) => o.transactions);
  assert.deepEqual(txs, [
    { generation: 7, pid: 123, comm: 'nft', events: ['delrule forward', 'delelem bridges'] },
    { generation: 8, pid: 124, comm: 'nft', events: [] },
    { generation: 9, pid: 125, comm: 'weft-nft', events: ['newelem pub4'] },
  ]);
  assert.equal(outs[2].lost, true);
  // Deleting the admin chain itself (with the table) counts; so does anything else in it.
  assert.deepEqual(p.feed('ev delchain weft-user\nev deltable -\ngen 10 1 firewall cmd\n').transactions[0], { generation: 10, pid: 1, comm: 'firewall cmd', events: ['delchain weft-user', 'deltable -'] });
});

test('nftAlias: a weft-nft symlink to the nft on PATH, made once', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-alias-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'sbin'));
  writeFileSync(join(dir, 'sbin', 'nft'), '');
  const alias = nftAlias(join(dir, 'bin'), `${join(dir, 'none')}:${join(dir, 'sbin')}`);
  assert.equal(alias, join(dir, 'bin', 'weft-nft'));
  assert.equal(readlinkSync(alias), join(dir, 'sbin', 'nft'));
  assert.equal(nftAlias(join(dir, 'bin'), join(dir, 'sbin')), alias);
  assert.throws(() => nftAlias(join(dir, 'bin'), join(dir, 'none')), /nft not found/);
});

test('the watch refuses a kernel whose batches would not be told apart', () => {
  assert.throws(() => watchNftTable(new CommandKernel(), { helper: '/x', table: 'inet weft', userChain: 'weft-user', onForeignChange: () => undefined }), /weft-nft alias/);
});

const quiet = createLogger({ level: 'fatal' });
const tick = () => new Promise((r) => setImmediate(r));

test('FirewallKeeper: waits for start, folds reports that arrive during a reload into one more', async () => {
  let calls = 0;
  let release: () => void = () => undefined;
  const keeper = new FirewallKeeper({
    log: quiet,
    reload: () => {
      calls++;
      return new Promise((r) => (release = () => r({ networks: 1, ports: 0 })));
    },
  });
  keeper.disrupted(['deltable -']);
  await tick();
  assert.equal(calls, 0, 'nothing before the engine has started');
  keeper.start();
  assert.equal(calls, 1, 'the early report is acted on at start');
  keeper.disrupted(['delrule forward']);
  keeper.disrupted(['delelem bridges']);
  await tick();
  assert.equal(calls, 1, 'one reload at a time');
  release();
  await tick();
  await tick();
  assert.equal(calls, 2, 'both reports folded into one more reload');
  release();
  await tick();
  await tick();
  assert.equal(calls, 2);
  assert.equal(keeper.reloads, 2);
  keeper.stop();
});

test('FirewallKeeper: a failed reload is retried; a burst of reloads slows down', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let calls = 0;
  let fail = true;
  const keeper = new FirewallKeeper({
    log: quiet,
    reload: async () => {
      calls++;
      if (fail) throw new Error('nft: busy');
      return { networks: 0, ports: 0 };
    },
  });
  keeper.start();
  keeper.disrupted(['deltable -']);
  await tick();
  assert.equal(calls, 1);
  fail = false;
  t.mock.timers.tick(1000);
  await tick();
  assert.equal(calls, 2, 'retried after a second');
  for (let i = 0; i < 8; i++) {
    keeper.disrupted(['deltable -']);
    await tick();
    await tick();
  }
  assert.equal(calls, 10, 'ten reloads in the window');
  keeper.disrupted(['deltable -']);
  await tick();
  assert.equal(calls, 10, 'the eleventh waits');
  t.mock.timers.tick(5000);
  await tick();
  assert.equal(calls, 11);
  keeper.stop();
});
