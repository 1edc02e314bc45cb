import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demuxAll, frame, StdDemuxer, STDERR, STDOUT } from '../../src/cli/stdcopy.js';

test('demuxes interleaved frames', () => {
  const data = Buffer.concat([frame(STDOUT, 'out1\n'), frame(STDERR, 'err\n'), frame(STDOUT, 'out2\n')]);
  const { stdout, stderr } = demuxAll(data);
  assert.equal(stdout.toString(), 'out1\nout2\n');
  assert.equal(stderr.toString(), 'err\n');
});

test('handles frames split at every byte boundary', () => {
  const data = Buffer.concat([frame(STDOUT, 'hello'), frame(STDERR, ''), frame(STDERR, 'x'.repeat(300))]);
  for (let cut = 1; cut < data.length; cut++) {
    const got: [number, string][] = [];
    const d = new StdDemuxer((s, p) => got.push([s, p.toString()]));
    d.push(data.subarray(0, cut));
    d.push(data.subarray(cut));
    assert.deepEqual(got, [[1, 'hello'], [2, ''], [2, 'x'.repeat(300)]]);
    assert.equal(d.pending, 0);
  }
});

test('rejects unknown stream ids and reports partial frames', () => {
  assert.throws(() => new StdDemuxer(() => {}).push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])), /Unrecognized input header/);
  const d = new StdDemuxer(() => {});
  d.push(frame(STDOUT, 'abc').subarray(0, 9));
  assert.equal(d.pending, 9);
});
