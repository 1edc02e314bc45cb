import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { buildAnswer, buildError, buildSlowAnswer, headerOnlyError, parseQuery, questionEnd, slowQuery, truncateForUdp, RCODE } from '../../src/dns/wire.js';
import type { LookupResult, Rr } from '../../src/dns/table.js';
import { encodeName, ipv4Bytes } from '../../src/dns/ip.js';

function query(name: string, type: dnsPacket.RecordType = 'A', opts: { id?: number; edns?: number; do?: boolean; flags?: number } = {}): Buffer {
  return dnsPacket.encode({
    id: opts.id ?? 0x1234,
    type: 'query',
    flags: opts.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals: opts.edns ? [{ name: '.', type: 'OPT', udpPayloadSize: opts.edns, flags: opts.do ? dnsPacket.DNSSEC_OK : 0, options: [] } as unknown as dnsPacket.Answer] : [],
  });
}

const decode = (b: Buffer) => dnsPacket.decode(b) as dnsPacket.DecodedPacket & { rcode: string };
const aRr = (ip: string): Rr => ({ type: 1, ttl: 0, data: ip, rdata: ipv4Bytes(ip) });

test('fast path parses plain and EDNS queries', () => {
  const q = parseQuery(query('Web.Example.', 'A'))!;
  assert.equal(q.id, 0x1234);
  assert.equal(q.qname, 'web.example');
  assert.equal(q.qtype, 1);
  assert.equal(q.qclass, 1);
  assert.equal(q.edns, false);
  assert.equal(q.udpSize, 512);
  const e = parseQuery(query('db', 'AAAA', { edns: 4096, do: true }))!;
  assert.equal(e.qtype, 28);
  assert.equal(e.edns, true);
  assert.equal(e.ednsDo, true);
  assert.equal(e.udpSize, 4096);
  assert.equal(parseQuery(query('x', 'A', { edns: 100 }))!.udpSize, 512, 'payload sizes below 512 mean 512');
  assert.equal(parseQuery(query('9.0.17.172.in-addr.arpa', 'PTR'))!.qtype, 12);
  assert.equal(parseQuery(query('.', 'NS'))!.qname, '');
});

test('fast path declines what it does not handle', () => {
  const two = dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: 'a', type: 'A' }, { name: 'b', type: 'A' }] });
  assert.equal(parseQuery(two), null, 'two questions');
  const resp = dnsPacket.encode({ id: 1, type: 'response', questions: [{ name: 'a', type: 'A' }] });
  assert.equal(parseQuery(resp), null, 'a response');
  const q = query('abc');
  assert.equal(parseQuery(q.subarray(0, q.length - 1)), null, 'cut short');
  assert.equal(parseQuery(Buffer.concat([q, Buffer.from([0])])), null, 'trailing byte');
  const ptr = Buffer.from(q);
  ptr[12] = 0xc0;
  assert.equal(parseQuery(ptr), null, 'compression pointer in the question');
  const dotted = Buffer.from(q);
  dotted[14] = 46;
  assert.equal(parseQuery(dotted), null, 'a dot inside a label');
  const notify = Buffer.from(q);
  notify[2] |= 4 << 3;
  assert.equal(parseQuery(notify), null, 'opcode NOTIFY');
});

test('answers: header, question copy, compressed names, OPT echo, and decodable', () => {
  const raw = query('Web', 'A', { id: 777, edns: 1232, do: true });
  const q = parseQuery(raw)!;
  const res: LookupResult = { rcode: 0, answers: [aRr('10.1.0.2'), aRr('10.1.0.3')] };
  const out = buildAnswer(raw, q, res, q.udpSize);
  const d = decode(out);
  assert.equal(d.id, 777);
  assert.equal(d.type, 'response');
  assert.equal(d.flag_aa, true);
  assert.equal(d.flag_rd, true);
  assert.equal(d.flag_ra, true);
  assert.equal(d.flag_tc, false);
  assert.equal(d.rcode, 'NOERROR');
  assert.equal(d.questions![0].name, 'Web', 'the question is echoed as asked');
  assert.deepEqual(
    d.answers!.map((a) => [a.name, a.type, (a as { ttl?: number }).ttl, (a as { data: string }).data]),
    [
      ['Web', 'A', 0, '10.1.0.2'],
      ['Web', 'A', 0, '10.1.0.3'],
    ],
  );
  const opt = d.additionals!.find((a) => a.type === 'OPT') as unknown as { udpPayloadSize: number; flags: number };
  assert.equal(opt.udpPayloadSize, 1232);
  assert.equal(opt.flags & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK);
  // PTR and AAAA RDATA.
  const p = parseQuery(query('2.0.1.10.in-addr.arpa', 'PTR'))!;
  const ptrOut = decode(
    buildAnswer(query('2.0.1.10.in-addr.arpa', 'PTR'), p, { rcode: 0, answers: [{ type: 12, ttl: 0, data: 'web.n1', rdata: encodeName('web.n1') }] }, 512),
  );
  assert.equal((ptrOut.answers![0] as { data: string }).data, 'web.n1');
  // Empty NOERROR and errors.
  const empty = decode(buildAnswer(raw, q, { rcode: 0, answers: [] }, 512));
  assert.equal(empty.rcode, 'NOERROR');
  assert.equal(empty.answers!.length, 0);
  assert.equal(decode(buildError(raw, q, RCODE.SERVFAIL)).rcode, 'SERVFAIL');
});

test('answers that do not fit are cut and TC is set', () => {
  const raw = query('many');
  const q = parseQuery(raw)!;
  const answers = Array.from({ length: 60 }, (_, i) => aRr(`10.1.${i >> 8}.${i & 255}`));
  const out = buildAnswer(raw, q, { rcode: 0, answers }, 512);
  assert.ok(out.length <= 512);
  const d = decode(out);
  assert.equal(d.flag_tc, true);
  assert.equal(d.answers!.length, Math.floor((512 - q.qEnd) / 16));
  assert.equal(decode(buildAnswer(raw, q, { rcode: 0, answers }, 65535)).answers!.length, 60);
});

test('slow path: multi-question FORMERR, NOTIMP, odd types, garbage', () => {
  const two = dnsPacket.encode({ id: 9, type: 'query', questions: [{ name: 'a', type: 'A' }, { name: 'b', type: 'A' }] });
  const r = slowQuery(two);
  assert.equal(r.kind, 'reply');
  if (r.kind === 'reply') {
    const d = decode(r.packet);
    assert.equal(d.id, 9);
    assert.equal(d.rcode, 'FORMERR');
  }
  const notify = query('a');
  notify[2] |= 4 << 3;
  const n = slowQuery(notify);
  assert.ok(n.kind === 'reply' && decode(n.packet).rcode === 'NOTIMP');
  const mx = slowQuery(query('Host.Example', 'MX'));
  assert.ok(mx.kind === 'query' && mx.qtype === 15 && mx.qname === 'host.example');
  assert.equal(slowQuery(Buffer.from([1, 2, 3])).kind, 'drop', 'too short for a header');
  const resp = dnsPacket.encode({ id: 1, type: 'response', questions: [{ name: 'a', type: 'A' }] });
  assert.equal(slowQuery(resp).kind, 'drop', 'never answer a response');
  const bad = Buffer.alloc(20, 0xff);
  bad[2] = 0x01;
  const b = slowQuery(bad);
  assert.ok(b.kind === 'reply' && decode(b.packet).rcode === 'FORMERR');
  // A local answer through the slow path (EDNS version 1 declines the fast path).
  const v1 = query('web', 'A', { edns: 1232 });
  v1[v1.length - 5] = 1; // version byte of the OPT TTL
  assert.equal(parseQuery(v1), null);
  const s = slowQuery(v1);
  assert.equal(s.kind, 'query');
  if (s.kind === 'query') {
    const d = decode(buildSlowAnswer(s, { rcode: 0, answers: [aRr('10.0.0.1')] }, 512));
    assert.equal((d.answers![0] as { data: string }).data, '10.0.0.1');
    assert.equal(d.flag_aa, true);
  }
});

test('headerOnlyError, questionEnd, truncateForUdp', () => {
  assert.equal(headerOnlyError(Buffer.alloc(5), 1), null);
  const raw = query('example.com', 'TXT');
  assert.equal(questionEnd(raw), raw.length);
  const big = dnsPacket.encode({
    id: 5,
    type: 'response',
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: 'example.com', type: 'TXT' }],
    answers: Array.from({ length: 10 }, () => ({ name: 'example.com', type: 'TXT' as const, ttl: 60, data: 'x'.repeat(200) })),
  });
  assert.equal(truncateForUdp(big, 4096), big);
  const cut = truncateForUdp(big, 512)!;
  const d = decode(cut);
  assert.equal(d.flag_tc, true);
  assert.equal(d.id, 5);
  assert.equal(d.answers!.length, 0);
  assert.equal(d.questions![0].name, 'example.com');
});

test('fuzz: random and mutated packets never throw', () => {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const valid = [query('web'), query('db.example.com', 'AAAA', { edns: 1232 }), query('1.0.0.10.in-addr.arpa', 'PTR'), query('x', 'MX', { edns: 4096, do: true })];
  const res: LookupResult = { rcode: 0, answers: [aRr('10.0.0.1')] };
  let fast = 0;
  for (let i = 0; i < 30_000; i++) {
    let buf: Buffer;
    if (i % 2 === 0) {
      buf = Buffer.alloc(rnd() % 80);
      for (let j = 0; j < buf.length; j++) buf[j] = rnd() & 0xff;
      if (buf.length > 3 && i % 4 === 0) buf[2] &= 0x07; // mostly queries
    } else {
      const base = valid[rnd() % valid.length];
      buf = Buffer.from(base);
      const flips = 1 + (rnd() % 4);
      for (let f = 0; f < flips; f++) buf[rnd() % buf.length] = rnd() & 0xff;
      if (rnd() % 5 === 0) buf = buf.subarray(0, rnd() % buf.length);
    }
    const q = parseQuery(buf);
    if (q) {
      fast++;
      const out = buildAnswer(buf, q, res, q.udpSize);
      assert.ok(out.length <= Math.max(q.udpSize, q.qEnd + 11 + 16));
      decode(out); // our replies always decode
    } else {
      const s = slowQuery(buf);
      if (s.kind === 'query') buildSlowAnswer(s, res, s.udpSize);
      if (s.kind === 'reply') assert.ok(s.packet.length >= 12);
    }
    truncateForUdp(buf, 12 + (rnd() % 40));
  }
  assert.ok(fast > 100, `fast path accepted ${fast} mutated packets`);
});
