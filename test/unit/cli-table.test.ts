import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displayPorts, ellipsis, goTimeString, humanDuration, humanSize, truncateId } from '../../src/cli/humanize.js';
import { NETWORK_HEADERS, networkRow } from '../../src/cli/commands/network.js';
import { psRow } from '../../src/cli/commands/ps.js';
import { renderRows, tabwrite } from '../../src/cli/table.js';

const net = (Name: string, Id: string) => ({
  Name, Id, Created: '2026-11-29T14:16:26.880416700Z', Driver: 'bridge', Scope: 'local', EnableIPv6: false, Internal: false,
  Labels: { b: '2', a: '1' },
});

test('tabwriter matches docker (minwidth 10, padding 3, last cell unpadded)', () => {
  assert.equal(tabwrite('NETWORK ID\tNAME\tDRIVER\tSCOPE\nd689d5c6975e\tbridge\tbridge\tlocal\n'),
    'NETWORK ID     NAME      DRIVER    SCOPE\nd689d5c6975e   bridge    bridge    local\n');
  assert.equal(tabwrite('a\tb\n\nlonger-than-ten\tc\n'), 'a         b\n\nlonger-than-ten   c\n');
  assert.equal(tabwrite('…é\tx\n'), '…é        x\n', 'widths count characters, not bytes');
});

test('network ls default table, quiet, custom table and json', () => {
  const rows = [networkRow(net('bridge', 'd689d5c6975eca68'), true), networkRow(net('t1', '06c259c250613b82'), true)];
  const spec = (format: string) => ({ format, headers: NETWORK_HEADERS, typeName: '*network.networkContext' });
  assert.equal(renderRows(spec('table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}'), rows),
    'NETWORK ID     NAME      DRIVER    SCOPE\nd689d5c6975e   bridge    bridge    local\n06c259c25061   t1        bridge    local\n');
  assert.equal(renderRows(spec('{{.ID}}'), rows), 'd689d5c6975e\n06c259c25061\n');
  assert.equal(renderRows(spec('table {{.Name}}\\t{{.Labels}}'), rows), 'NAME      LABELS\nbridge    a=1,b=2\nt1        a=1,b=2\n');
  assert.equal(renderRows(spec('{{.CreatedAt}}'), rows.slice(0, 1)), '2026-11-29 14:16:26.8804167 +0000 UTC\n');
  assert.match(renderRows(spec('{{json .}}'), rows.slice(0, 1)), /^\{"CreatedAt":.*"Scope":"local"\}\n$/);
  assert.equal(renderRows(spec('table {{.ID}}'), []), 'NETWORK ID\n');
  assert.throws(() => renderRows(spec('{{.Nope}}'), rows), /can't evaluate field Nope in type \*network.networkContext/);
});

test('ps row fields', () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 10);
  const row = psRow({
    Id: '1d024e012e39c3cc5b', Names: ['/c1'], Image: 'alpine', Command: "sh -c 'echo out; echo err >&2'", Created: now / 1000 - 5,
    Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }], Labels: {}, State: 'running', Status: 'Up 4 seconds',
    NetworkSettings: { Networks: { t1: {}, bridge: {} } },
  }, true, now);
  assert.equal(row.ID, '1d024e012e39');
  assert.equal(row.Command, '"sh -c \'echo out; ec…"');
  assert.equal(row.RunningFor, '5 seconds ago');
  assert.equal(row.Ports, '0.0.0.0:8080->80/tcp');
  assert.equal(row.Names, 'c1');
  assert.equal(row.Networks, 'bridge,t1');
});

test('humanize helpers', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(3 * 3600_000), '3 hours');
  assert.equal(humanDuration(3 * 86400_000), '3 days');
  assert.equal(humanSize(1_986_000), '1.99MB');
  assert.equal(humanSize(0), '0B');
  assert.equal(truncateId('sha256:aeb644617611c1d3025ff13cd'), 'aeb644617611');
  assert.equal(ellipsis('abcdef', 4), 'abc…');
  assert.equal(goTimeString('2026-11-29T14:16:34Z'), '2026-11-29 14:16:34 +0000 UTC');
  assert.equal(displayPorts([{ PrivatePort: 53, Type: 'udp' }, { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]), '53/udp, [::]:8080->80/tcp');
});
