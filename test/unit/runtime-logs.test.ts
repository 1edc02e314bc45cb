import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLogLine, renderRecord, splitLines, tailRecords, wanted } from '../../src/runtime/k8s-log.js';
import { FrameFilter, frame } from '../../src/runtime/frames.js';

const all = { stdout: true, stderr: true, timestamps: false, since: 0, until: 0 };

test('parses k8s-file lines (full, partial, other zones)', () => {
  const r = parseLogLine('2024-01-02T03:04:05.123456789+00:00 stdout F hello world')!;
  assert.equal(r.time, '2024-01-02T03:04:05.123456789Z');
  assert.equal(r.stream, 'stdout');
  assert.equal(r.partial, false);
  assert.equal(r.text, 'hello world');
  assert.ok(Math.abs(r.seconds - 1704164645.123456789) < 1e-5);
  const p = parseLogLine('2024-01-02T05:04:05.5+02:00 stderr P part')!;
  assert.equal(p.time, '2024-01-02T03:04:05.5Z');
  assert.equal(p.partial, true);
  assert.equal(parseLogLine('2024-01-02T03:04:05.1+00:00 stdout F ')!.text, '');
  assert.equal(parseLogLine('garbage'), null);
});

test('renders Docker frames, raw for tty, with timestamps', () => {
  const r = parseLogLine('2024-01-02T03:04:05.000000001+00:00 stderr F oops')!;
  assert.deepEqual(renderRecord(r, all, false), Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 5]), Buffer.from('oops\n')]));
  assert.equal(renderRecord(r, all, true).toString(), 'oops\n');
  assert.equal(renderRecord(r, { ...all, timestamps: true }, true).toString(), '2024-01-02T03:04:05.000000001Z oops\n');
  const p = parseLogLine('2024-01-02T03:04:05.0+00:00 stdout P no newline')!;
  assert.equal(renderRecord(p, all, true).toString(), 'no newline');
});

test('filters by stream and since/until', () => {
  const r = parseLogLine('2024-01-02T03:04:05.5+00:00 stdout F x')!;
  assert.equal(wanted(r, { ...all, stdout: false }), false);
  assert.equal(wanted(r, { ...all, since: 1704164646 }), false);
  assert.equal(wanted(r, { ...all, until: 1704164645 }), false);
  assert.equal(wanted(r, { ...all, since: 1704164645, until: 1704164646 }), true);
});

test('tail counts complete lines', () => {
  const recs = ['a F 1', 'a P 2a', 'a F 2b', 'a F 3'].map((s, i) =>
    parseLogLine(`2024-01-02T03:04:0${i}.0+00:00 stdout ${s.slice(2)}`)!,
  );
  assert.deepEqual(tailRecords(recs, 1).map((r) => r.text), ['3']);
  assert.deepEqual(tailRecords(recs, 2).map((r) => r.text), ['2a', '2b', '3']);
  assert.equal(tailRecords(recs, 10).length, 4);
  assert.equal(tailRecords(recs, 0).length, 0);
  assert.equal(tailRecords(recs, 'all').length, 4);
});

test('splitLines keeps the unterminated rest, across multibyte boundaries', () => {
  const bytes = Buffer.from('one\ntwo é\nthr');
  const a = splitLines(Buffer.alloc(0), bytes.subarray(0, 9));
  const b = splitLines(a.carry, bytes.subarray(9));
  assert.deepEqual([...a.lines, ...b.lines], ['one', 'two é']);
  assert.equal(b.carry.toString(), 'thr');
});

test('FrameFilter reassembles split frames and drops unwanted streams', async () => {
  const f = new FrameFilter({ stdout: true, stderr: false }, true);
  const out: Buffer[] = [];
  f.on('data', (d: Buffer) => out.push(d));
  const data = Buffer.concat([frame(1, Buffer.from('hello')), frame(2, Buffer.from('err')), frame(1, Buffer.from('!'))]);
  f.write(data.subarray(0, 3));
  f.write(data.subarray(3, 17));
  f.end(data.subarray(17));
  await new Promise((r) => f.on('end', r));
  assert.equal(Buffer.concat(out).toString(), 'hello!');
});
