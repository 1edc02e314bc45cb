import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { REPO_ROOT } from '../helpers/daemons.js';
import { caDigest, joinToken, parseJoinToken, swarmId } from '../../src/cluster/tokens.js';
import { createNodeKeyAndCsr, createRootCa, issuedBy, signNodeCsr, tlsInfo } from '../../src/cluster/pki.js';
import { msg } from '../../src/cluster/messages.js';
import { defaultSwarmSpec, mergeSpec, quorum } from '../../src/cluster/records.js';
import { parseAddr } from '../../src/cluster/addr.js';

// Tokens, certificates and texts checked against what swarmkit made in the dockerd capture.

const FIX = join(REPO_ROOT, 'test/fixtures/dockerd/swarm');
const swarmGet = JSON.parse(readFileSync(join(FIX, 'swarm-get.json'), 'utf8'));
const R = JSON.parse(readFileSync(join(FIX, 'responses.json'), 'utf8'));

test('join tokens encode the CA digest exactly as swarmkit does', () => {
  const digest = caDigest(swarmGet.TLSInfo.TrustRoot);
  const [, , d, workerSecret] = swarmGet.JoinTokens.Worker.split('-');
  assert.equal(joinToken(digest, workerSecret), swarmGet.JoinTokens.Worker, 'same token from the same CA and secret');
  assert.equal(parseJoinToken(swarmGet.JoinTokens.Manager).digest, digest);
  assert.equal(d.length, 50);
  // A digest of all "1"s in base 36 is what dockerd printed as "Expected" for the bad-digest token.
  const expected = /Expected: ([0-9a-f]{64})/.exec(R.cli_join_bad_digest.stderr)![1];
  assert.equal(parseJoinToken(`SWMTKN-1-${'1'.repeat(50)}-${workerSecret}`).digest, expected);
  assert.match(swarmId(), /^[0-9a-z]{25}$/);
  for (const bad of ['SWMTKN-1-nope', 'SWMTKN-2-a-b', 'x', 'SWMTKN-1-A-b', '']) assert.throws(() => parseJoinToken(bad), /^WeftError: invalid join token$/);
});

test('the CA and node certificates: issuer DER like swarmkit, node certificates chain to it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wt-pki-'));
  const other = mkdtempSync(join(tmpdir(), 'wt-pki-'));
  try {
    const ca = await createRootCa(dir);
    assert.equal(tlsInfo(ca).CertIssuerSubject, swarmGet.TLSInfo.CertIssuerSubject, 'CN=swarm-ca as a PrintableString');
    assert.equal(Buffer.from(tlsInfo(ca).CertIssuerPublicKey, 'base64').length, Buffer.from(swarmGet.TLSInfo.CertIssuerPublicKey, 'base64').length, 'an ECDSA P-256 key');
    const cert = await signNodeCsr(dir, await createNodeKeyAndCsr(dir), { nodeId: 'n1', clusterId: 'c1', role: 'worker', addr: '10.0.0.5' });
    assert.ok(issuedBy(cert, ca));
    const otherCa = await createRootCa(other);
    assert.ok(!issuedBy(cert, otherCa), 'not by another CA');
    await assert.rejects(signNodeCsr(dir, 'garbage', { nodeId: 'n', clusterId: 'c', role: 'worker', addr: '1.2.3.4' }), /not a PEM certificate request/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  }
});

test("leave and quorum texts are dockerd's", () => {
  const body = (k: string) => R[k].stderr.replace(/^Error response from daemon: /, '').trimEnd();
  assert.equal(msg.leaveManager(1, 0).trimEnd(), body('cli_leave_last_manager'));
  assert.equal(msg.leaveManager(2, 0), body('cli_leave_manager_of_two'));
  assert.match(msg.leaveManager(3, 0), /^You are attempting .* manager\. The only way/);
  assert.equal(msg.quorumLoss, body('cli_demote_last'));
  assert.deepEqual([1, 2, 3, 4, 5].map(quorum), [1, 2, 2, 3, 3]);
});

test('a requested swarm spec fills over the defaults as swarmkit does', () => {
  const cliInit = { Labels: null, Orchestration: {}, Raft: { ElectionTick: 10, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: {}, EncryptionConfig: { AutoLockManagers: false } };
  assert.deepEqual(mergeSpec(defaultSwarmSpec(), cliInit), swarmGet.Spec);
  assert.deepEqual(mergeSpec(defaultSwarmSpec(), { Labels: { a: 'b' } }).Labels, { a: 'b' });
});

test('listen and advertise addresses', () => {
  assert.deepEqual(parseAddr('0.0.0.0:2377', 2377, 'listen address'), { host: '0.0.0.0', port: 2377 });
  assert.deepEqual(parseAddr('10.1.2.3', 2377, 'advertise address'), { host: '10.1.2.3', port: 2377 });
  assert.deepEqual(parseAddr('10.1.2.3:4000', 2377, 'advertise address'), { host: '10.1.2.3', port: 4000 });
  assert.deepEqual(parseAddr('[fd00::1]:4000', 2377, 'advertise address'), { host: 'fd00::1', port: 4000 });
  assert.throws(() => parseAddr('lo', 2377, 'advertise address'), /interface lo has no IPv4 address/, 'loopback only: nothing to advertise');
  assert.throws(() => parseAddr('nosuchif0', 2377, 'advertise address'), /no such interface/);
  assert.throws(() => parseAddr('10.1.2.3:99999', 2377, 'advertise address'), /invalid port/);
});
