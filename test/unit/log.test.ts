import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/common/log.js';

function capture(fn: (fd: number) => void): Record<string, unknown>[] {
  const dir = mkdtempSync(join(tmpdir(), 'weft-log-'));
  try {
    const path = join(dir, 'log');
    const fd = openSync(path, 'w');
    fn(fd);
    closeSync(fd);
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('log: pino-style JSON lines, level threshold, child bindings, errors', () => {
  const before = Date.now();
  const lines = capture((fd) => {
    const log = createLogger({ level: 'info', fd });
    log.debug({ hidden: true }, 'below the level');
    log.info({ socket: '/run/x.sock' }, 'listening');
    const dns = log.child({ component: 'dns' });
    dns.warn({ network: 'n1', err: new TypeError('boom') }, 'dns listen failed');
    dns.child({ network: 'n2' }).error({}, 'quote " and \n newline');
    log.info({});
  });
  assert.equal(lines.length, 4);
  assert.deepEqual(Object.keys(lines[0]), ['level', 'time', 'pid', 'socket', 'msg']);
  assert.equal(lines[0].level, 30);
  assert.equal(lines[0].pid, process.pid);
  assert.ok((lines[0].time as number) >= before);
  assert.equal(lines[0].msg, 'listening');
  assert.equal(lines[1].level, 40);
  assert.equal(lines[1].component, 'dns');
  assert.deepEqual({ ...(lines[1].err as object), stack: undefined }, { type: 'TypeError', message: 'boom', stack: undefined });
  assert.deepEqual([lines[2].level, lines[2].component, lines[2].network, lines[2].msg], [50, 'dns', 'n2', 'quote " and \n newline']);
  assert.deepEqual(Object.keys(lines[3]), ['level', 'time', 'pid']);
});

test('log: debug level lets debug through, a closed descriptor loses the line without throwing', () => {
  const lines = capture((fd) => createLogger({ level: 'debug', fd }).debug({ a: 1 }, 'x'));
  assert.equal(lines[0].level, 20);
  const fd = openSync('/dev/null', 'w');
  closeSync(fd);
  assert.doesNotThrow(() => createLogger({ level: 'info', fd }).info({}, 'lost'));
});
