import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { runCmd, startDaemon, type Daemon } from '../helpers/daemons.js';
import { HOST4, makeLab, runWeb, type Lab } from './ports-lab.js';

// Firewall reloads on weftd (weft only: dockerd has no equivalent, its users restart it). Someone
// else flushes or rewrites the ruleset; weftd must notice (its netlink watch) and put its
// table back from the records within a second, leaving other tables alone, with isolation,
// ICC/internal networks and published ports working again. `weft system firewall-reload` does it
// on demand.

const OTHER = 'table inet wtest {\n set s { type ipv4_addr; elements = { 192.0.2.1 }; }\n chain c { ip saddr @s counter accept; }\n}\n';
const ADMIN_ADD = 'add rule inet weft weft-user meta mark 0x4242 counter comment "admin"\n';
const ADMIN_LISTED = 'meta mark 0x00004242 counter packets 0 bytes 0 comment "admin"';

describe('firewall reload (weft)', { timeout: 600_000 }, () => {
  let d: Daemon;
  let lab: Lab;
  let baseline = '';
  const ip4: Record<string, string> = {};

  const nft = (args: string[]) => lab.host('nft', args, 15_000);
  const nftScript = async (script: string) => {
    const r = await runCmd('nsenter', [`--net=${d.netns.path}`, 'nft', '-f', '-'], { input: script });
    assert.equal(r.code, 0, r.stderr);
  };
  const listing = async (table: string, handles = false) => {
    const r = await nft([...(handles ? ['-a'] : []), 'list', 'table', ...table.split(' ')]);
    return r.code === 0 ? r.stdout : '';
  };
  /** weft's table without the admin's chain, and that chain's rules. */
  const split = (text: string) => {
    const m = /\n\tchain weft-user \{\n([^}]*)\t\}\n/.exec(text);
    return { core: m ? text.replace(m[0], '\n') : text, user: m ? m[1].trim() : null };
  };
  /** Milliseconds until weft's table (minus weft-user) is back to the baseline; fails after 1 s. */
  const restored = async (what: string) => {
    const t0 = performance.now();
    for (;;) {
      const now = split(await listing('inet weft'));
      if (now.core === split(baseline).core) return performance.now() - t0;
      if (performance.now() - t0 > 1000) assert.fail(`${what}: table not restored within 1 s:\n${now.core}\n${d.logTail(5)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  /** `wget` from a container with a short timeout: body or '' (a dropped packet times out). */
  const reach = async (from: string, url: string, seconds = 2) => {
    const r = await d.docker(['exec', from, 'timeout', String(seconds), 'wget', '-qO-', url], { timeoutMs: 15_000 });
    return r.code === 0 ? r.stdout.trim() : '';
  };
  /** Everything the table is for, at once. */
  const networkWorks = async (what: string) => {
    const [outside, sameNet, crossNet, iccOff, internalPeer, intoInternal] = await Promise.all([
      lab.curlOutside(`http://${HOST4}:8080/`),
      reach('client', `http://${ip4.web}/`),
      reach('peer', `http://${ip4.web}/`),
      reach('n2', `http://${ip4.n1}/`),
      reach('ib2', `http://${ip4.ib1}/`),
      reach('client', `http://${ip4.ib1}/`),
    ]);
    assert.equal(outside.trim(), 'web', `${what}: the published port answers from outside`);
    assert.equal(sameNet, 'web', `${what}: same network talks`);
    assert.equal(crossNet, '', `${what}: networks are isolated`);
    assert.equal(iccOff, '', `${what}: icc=false members are isolated`);
    assert.equal(internalPeer, 'ib1', `${what}: internal members talk`);
    assert.equal(intoInternal, '', `${what}: nothing else reaches the internal network`);
  };
  const restoresLogged = () => (readFileSync(d.logFile, 'utf8').match(/restored"/g) ?? []).length;
  /** pid of weftd's weft-nftwatch child. */
  const watchPid = (): number | undefined => {
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === d.pid() && readFileSync(`/proc/${e}/cmdline`, 'utf8').endsWith('/weft-nftwatch\0inet\0weft\0')) return Number(e);
      } catch {
        /* gone */
      }
    }
    return undefined;
  };

  before(async () => {
    d = await startDaemon('weft');
    lab = await makeLab(d);
    await d.dockerOk(['network', 'create', '--subnet', '10.220.0.0/24', 'front']);
    await d.dockerOk(['network', 'create', '--subnet', '10.221.0.0/24', 'other']);
    await d.dockerOk(['network', 'create', '--internal', '--subnet', '10.222.0.0/24', 'back']);
    await d.dockerOk(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', '--subnet', '10.223.0.0/24', 'noicc']);
    await runWeb(d, 'web', 'web', ['--network', 'front', '-p', '8080:80']);
    await runWeb(d, 'ib1', 'ib1', ['--network', 'back']);
    await runWeb(d, 'n1', 'n1', ['--network', 'noicc']);
    for (const [name, net] of [['client', 'front'], ['peer', 'other'], ['ib2', 'back'], ['n2', 'noicc']]) {
      await d.dockerOk(['run', '-d', '--name', name, '--network', net, 'busybox', 'sleep', '600']);
    }
    for (const [c, net] of [['web', 'front'], ['ib1', 'back'], ['n1', 'noicc']]) {
      ip4[c] = await d.dockerOk(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c]);
    }
    baseline = await listing('inet weft');
  });
  after(async () => {
    await nft(['delete', 'table', 'inet', 'wtest']);
    lab?.destroy();
    await d?.stop();
  });

  test('before any disruption everything works (and the checks can tell)', async () => {
    await networkWorks('baseline');
    assert.ok(watchPid(), 'weftd runs its watch');
  });

  // [what, commands, does the admin's weft-user rule survive it]
  const disruptions: [string, (handles: string) => string, boolean][] = [
    ['nft flush ruleset', () => 'flush ruleset\n', false],
    ['a firewalld-style reload (every table deleted, its own re-created, one transaction)', () => `flush ruleset\n${OTHER}`, false],
    ['nft delete table inet weft', () => 'delete table inet weft\n', false],
    ['nft flush table inet weft', () => 'flush table inet weft\n', false],
    ['a flushed chain (forward)', () => 'flush chain inet weft forward\n', true],
    ['a flushed chain (prerouting, DNAT)', () => 'flush chain inet weft prerouting\n', true],
    ['a flushed set (bridges)', () => 'flush set inet weft bridges\n', true],
    ['a flushed map (published ports)', () => 'flush map inet weft pub4\n', true],
    ['one deleted rule (isolation)', (h) => `delete rule inet weft forward handle ${/iifname @bridges oifname @bridges drop # handle (\d+)/.exec(h)![1]}\n`, true],
  ];
  for (const [what, script, userSurvives] of disruptions) {
    test(`restored after ${what}`, async () => {
      await nftScript(ADMIN_ADD);
      const ruleset = await listing('inet weft', true);
      const wasOther = (await listing('inet wtest')) !== '';
      if (!wasOther) await nftScript(OTHER);
      await nftScript(script(ruleset));
      const other = await listing('inet wtest', true); // as the disruption left it
      const ms = await restored(what);
      const after = split(await listing('inet weft'));
      if (userSurvives) assert.equal(after.user, ADMIN_LISTED, 'the admin rule survives');
      else assert.equal(after.user, '', 'weft-user is back, empty (the table was deleted or flushed)');
      assert.equal(await listing('inet wtest', true), other, 'the other table is untouched');
      await networkWorks(what);
      await nftScript('flush chain inet weft weft-user\n');
      process.stdout.write(`# ${what}: restored in ${ms.toFixed(0)} ms\n`);
    });
  }

  test("weft's own changes and the admin's weft-user rules are not disruptions", async () => {
    const before = restoresLogged();
    await runWeb(d, 'web2', 'web2', ['--network', 'other', '-p', '8081:80']);
    await d.dockerOk(['rm', '-f', 'web2']);
    await d.dockerOk(['network', 'create', 'extra']);
    await d.dockerOk(['run', '--rm', '--network', 'extra', 'busybox', 'true']);
    await d.dockerOk(['network', 'rm', 'extra']);
    await nftScript(ADMIN_ADD);
    await nftScript('flush chain inet weft weft-user\n');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(restoresLogged(), before, 'no restore was triggered');
    assert.equal(split(await listing('inet weft')).core, split(baseline).core);
  });

  test('weft system firewall-reload and POST /weft/firewall/reload rebuild it on demand', async () => {
    const pid = watchPid()!;
    process.kill(pid, 'SIGSTOP'); // the watch reads nothing now
    try {
      await nftScript('flush chain inet weft forward\n');
      await new Promise((r) => setTimeout(r, 1500));
      assert.notEqual(split(await listing('inet weft')).core, split(baseline).core, 'nothing restored it without the watch');
      assert.equal(await reach('peer', `http://${ip4.web}/`), 'web', 'without the table the networks are not isolated (so the check can fail)');
      const r = await d.weft(['system', 'firewall-reload']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Reloaded table inet weft: 5 networks, 1 published ports \([\d.]+ ms\)\n$/);
      assert.equal(split(await listing('inet weft')).core, split(baseline).core, 'restored by the CLI');
      await nftScript('flush set inet weft bridges\n');
      const api = await d.api('POST', '/v1.45/weft/firewall/reload');
      assert.equal(api.status, 200);
      assert.deepEqual({ ...api.json, DurationMs: 0 }, { Table: 'inet weft', Networks: 5, PublishedPorts: 1, DurationMs: 0 });
      assert.equal(split(await listing('inet weft')).core, split(baseline).core, 'restored by the API');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await networkWorks('on-demand reload');
  });

  test('a killed watch is restarted, and the table checked again', async () => {
    const pid = watchPid()!;
    process.kill(pid, 'SIGKILL');
    let next: number | undefined;
    for (let i = 0; i < 100 && !(next = watchPid()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(next && next !== pid, 'a new watch runs');
    await new Promise((r) => setTimeout(r, 200));
    await nftScript('delete table inet weft\n');
    await restored('delete table after a watch restart');
    await networkWorks('after a watch restart');
  });
});
