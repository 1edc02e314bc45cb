import { createRequire } from 'node:module';
import type dnsPacketModule from 'dns-packet';
import type { LookupResult } from './table.js';

// DNS wire format. The fast path reads the query nearly every client sends (one question, no
// answer/authority records, at most an EDNS OPT record) with plain byte reads, and writes answers
// by copying the question and appending precomputed RDATA: no object trees, one Buffer per reply.
// Everything else goes through dns-packet (slowQuery). Nothing here throws on malformed input.

// dns-packet is loaded at the first slow-path packet: nearly every query takes the fast path,
// and loading it costs the daemon's start ~13 ms.
const require = createRequire(import.meta.url);
let dnsPacketLoaded: typeof dnsPacketModule | undefined;
const dnsPacket = () => (dnsPacketLoaded ??= require('dns-packet') as typeof dnsPacketModule);

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const CLASS_IN = 1;
const TYPE_OPT = 41;
const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const FLAG_CD = 0x0010;
interface Latin1 {
  latin1Slice(start: number, end: number): string;
}
/** Buffer's undocumented-in-types direct decoder (toString() checks and dispatches first). */
export const latin1 = (b: Buffer, start: number, end: number): string => (b as unknown as Latin1).latin1Slice(start, end);
/** The EDNS UDP payload size we advertise (the DNS flag day 2020 value). */
export const OUR_UDP_SIZE = 1232;

export interface Query {
  id: number;
  flags: number;
  /** Lower case, no trailing dot; '' for the root. */
  qname: string;
  qtype: number;
  qclass: number;
  /** Offset just past the question section. */
  qEnd: number;
  edns: boolean;
  ednsDo: boolean;
  /** Largest UDP reply the client accepts: 512 without EDNS, else its payload size (≥ 512). */
  udpSize: number;
}

/** A DNS message as sent over TCP: its length (16 bits, big-endian), then the message. */
export function tcpFrame(msg: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(2 + msg.length);
  frame.writeUInt16BE(msg.length, 0);
  msg.copy(frame, 2);
  return frame;
}

/**
 * The fast path: returns null for anything it does not handle (then use slowQuery), which
 * includes every malformed packet.
 */
export function parseQuery(buf: Buffer): Query | null {
  const len = buf.length;
  if (len < 17) return null;
  const flags = (buf[2] << 8) | buf[3];
  // QR=0, opcode QUERY; one question, no answers/authority, at most one additional (OPT).
  if (flags & 0xf800) return null;
  if (buf[4] !== 0 || buf[5] !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0 || buf[10] !== 0 || buf[11] > 1) return null;
  let off = 12;
  let qname = '';
  let upper = false;
  for (;;) {
    const l = buf[off];
    if (l === undefined || l > 63) return null; // compression in a question, or reserved label types
    off++;
    if (l === 0) break;
    const end = off + l;
    if (end > len || end - 12 > 254) return null;
    for (let i = off; i < end; i++) {
      const c = buf[i];
      if (c === 46 || c <= 32 || c >= 127) return null; // dots, blanks, non-ASCII: slow path
      if (c >= 65 && c <= 90) upper = true;
    }
    const label = latin1(buf, off, end);
    qname = qname ? qname + '.' + label : label;
    off = end;
  }
  if (off + 4 > len) return null;
  const qtype = (buf[off] << 8) | buf[off + 1];
  const qclass = (buf[off + 2] << 8) | buf[off + 3];
  off += 4;
  const qEnd = off;
  let edns = false;
  let ednsDo = false;
  let udpSize = 512;
  if (buf[11] === 1) {
    // OPT: root name, type 41, class = payload size, ttl = ext-rcode/version/flags, rdata.
    if (off + 11 > len || buf[off] !== 0 || buf[off + 1] !== 0 || buf[off + 2] !== TYPE_OPT) return null;
    const size = (buf[off + 3] << 8) | buf[off + 4];
    if (buf[off + 6] !== 0) return null; // EDNS version ≠ 0: slow path (forwarded as is)
    ednsDo = (buf[off + 7] & 0x80) !== 0;
    const rdlen = (buf[off + 9] << 8) | buf[off + 10];
    if (off + 11 + rdlen !== len) return null;
    edns = true;
    udpSize = size < 512 ? 512 : size > 4096 ? 4096 : size;
  } else if (off !== len) {
    return null; // trailing bytes
  }
  return { id: (buf[0] << 8) | buf[1], flags, qname: upper ? qname.toLowerCase() : qname, qtype, qclass, qEnd, edns, ednsDo, udpSize };
}

/**
 * A local answer to a fast-path query: the query's header and question, the answers (name
 * compressed to the question), and an OPT record when the query had one. Answers that do not fit
 * `maxSize` are dropped and TC set, so the client retries over TCP.
 */
export function buildAnswer(query: Buffer, q: Query, res: LookupResult, maxSize: number): Buffer {
  const answers = res.answers;
  const optLen = q.edns ? 11 : 0;
  let n = answers.length;
  let size = q.qEnd + optLen;
  for (let i = 0; i < n; i++) size += 12 + answers[i].rdata.length;
  let tc = 0;
  if (size > maxSize) {
    tc = FLAG_TC;
    size = q.qEnd + optLen;
    let fit = 0;
    while (fit < n && size + 12 + answers[fit].rdata.length <= maxSize) size += 12 + answers[fit++].rdata.length;
    n = fit;
  }
  const out = Buffer.allocUnsafe(size);
  query.copy(out, 0, 0, q.qEnd);
  const flags = FLAG_QR | FLAG_AA | tc | (q.flags & (FLAG_RD | FLAG_CD)) | FLAG_RA | (res.rcode & 0xf);
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  out[6] = n >> 8;
  out[7] = n & 0xff;
  out[8] = 0;
  out[9] = 0;
  out[10] = 0;
  out[11] = q.edns ? 1 : 0;
  let off = q.qEnd;
  for (let i = 0; i < n; i++) {
    const rr = answers[i];
    const rd = rr.rdata;
    out[off] = 0xc0;
    out[off + 1] = 12;
    out[off + 2] = rr.type >> 8;
    out[off + 3] = rr.type & 0xff;
    out[off + 4] = 0;
    out[off + 5] = CLASS_IN;
    out.writeUInt32BE(rr.ttl >>> 0, off + 6);
    out[off + 10] = rd.length >> 8;
    out[off + 11] = rd.length & 0xff;
    rd.copy(out, off + 12);
    off += 12 + rd.length;
  }
  if (q.edns) writeOpt(out, off, q.ednsDo);
  return out;
}

function writeOpt(out: Buffer, off: number, dnssecOk: boolean): void {
  out[off] = 0;
  out[off + 1] = 0;
  out[off + 2] = TYPE_OPT;
  out[off + 3] = OUR_UDP_SIZE >> 8;
  out[off + 4] = OUR_UDP_SIZE & 0xff;
  out[off + 5] = 0; // extended rcode
  out[off + 6] = 0; // version
  out[off + 7] = dnssecOk ? 0x80 : 0;
  out[off + 8] = 0;
  out[off + 9] = 0; // rdlen
  out[off + 10] = 0;
}

/** An error reply (SERVFAIL, REFUSED, ...) to a fast-path query: header, question, OPT. */
export function buildError(query: Buffer, q: Query, rcode: number): Buffer {
  return buildAnswer(query, q, { rcode, answers: [] }, 65535);
}

/**
 * A header-only error reply to a packet nothing else could be read from (FORMERR), or null when
 * it should be dropped: too short to carry an id, or itself a response (never answer those: two
 * servers would bounce errors at each other forever).
 */
export function headerOnlyError(buf: Buffer, rcode: number): Buffer | null {
  if (buf.length < 12 || buf[2] & 0x80) return null;
  const out = Buffer.alloc(12);
  out[0] = buf[0];
  out[1] = buf[1];
  const flags = FLAG_QR | (((buf[2] >> 3) & 0xf) << 11) | (buf[2] & 1 ? FLAG_RD : 0) | FLAG_RA | (rcode & 0xf);
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  return out;
}

/** What slowQuery made of a packet the fast path declined. */
export type SlowResult =
  | { kind: 'drop' }
  | { kind: 'reply'; packet: Buffer }
  | { kind: 'query'; id: number; qname: string; qtype: number; qclass: number; decoded: dnsPacketModule.DecodedPacket; udpSize: number };

const TYPE_NUM: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 };

/** The general path, through dns-packet: validates, or produces the error reply to send. */
export function slowQuery(buf: Buffer): SlowResult {
  if (buf.length < 12 || buf[2] & 0x80) return { kind: 'drop' };
  let decoded: dnsPacketModule.DecodedPacket;
  try {
    decoded = dnsPacket().decode(buf);
  } catch {
    const p = headerOnlyError(buf, RCODE.FORMERR);
    return p ? { kind: 'reply', packet: p } : { kind: 'drop' };
  }
  const opcode = (buf[2] >> 3) & 0xf;
  if (opcode !== 0) {
    const p = headerOnlyError(buf, RCODE.NOTIMP);
    return p ? { kind: 'reply', packet: p } : { kind: 'drop' };
  }
  const questions = decoded.questions ?? [];
  if (questions.length !== 1) {
    const p = headerOnlyError(buf, RCODE.FORMERR);
    return p ? { kind: 'reply', packet: p } : { kind: 'drop' };
  }
  const q = questions[0];
  // dns-packet names the type; unknown ones come back as "UNKNOWN_<n>".
  const typeText = String(q.type);
  const qtype = TYPE_NUM[typeText] ?? (typeText.startsWith('UNKNOWN_') ? Number(typeText.slice(8)) : -1);
  const qclass = q.class === 'IN' || q.class === undefined ? CLASS_IN : -1;
  const opt = (decoded.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const size = opt?.udpPayloadSize ?? 512;
  return {
    kind: 'query',
    id: decoded.id ?? 0,
    qname: String(q.name).toLowerCase().replace(/\.$/, ''),
    qtype,
    qclass,
    decoded,
    udpSize: opt ? Math.min(4096, Math.max(512, size)) : 512,
  };
}

/** A local answer to a slow-path query, encoded by dns-packet. */
export function buildSlowAnswer(s: Extract<SlowResult, { kind: 'query' }>, res: LookupResult, maxSize: number): Buffer {
  const typeName = (t: number) => (t === 1 ? 'A' : t === 28 ? 'AAAA' : 'PTR') as 'A' | 'AAAA' | 'PTR';
  const question = s.decoded.questions![0];
  const hasOpt = (s.decoded.additionals ?? []).some((a) => a.type === 'OPT');
  const rd = s.decoded.flags! & FLAG_RD;
  const build = (answers: LookupResult['answers'], tc: number) =>
    dnsPacket().encode({
      id: s.id,
      type: 'response',
      flags: FLAG_AA | FLAG_RA | rd | tc | (res.rcode & 0xf),
      questions: [question],
      answers: answers.map((a) => ({ name: question.name, type: typeName(a.type), class: 'IN' as const, ttl: a.ttl, data: a.data })),
      additionals: hasOpt ? [{ name: '.', type: 'OPT', udpPayloadSize: OUR_UDP_SIZE, flags: 0, options: [] } as unknown as dnsPacketModule.Answer] : [],
    });
  const full = build(res.answers, 0);
  return full.length <= maxSize ? full : build([], FLAG_TC);
}

/** Offset just past the question section of a packet with one question, or -1. */
export function questionEnd(buf: Buffer): number {
  if (buf.length < 12) return -1;
  const qd = (buf[4] << 8) | buf[5];
  let off = 12;
  for (let q = 0; q < qd; q++) {
    for (;;) {
      const l = buf[off];
      if (l === undefined) return -1;
      if ((l & 0xc0) === 0xc0) {
        off += 2;
        break;
      }
      if (l > 63) return -1;
      off += 1 + l;
      if (l === 0) break;
    }
    off += 4;
    if (off > buf.length) return -1;
  }
  return off;
}

/**
 * Fits an upstream reply into a UDP client's limit: larger ones become header + question with TC
 * set (the client retries over TCP). Null when the reply cannot be cut safely.
 */
export function truncateForUdp(reply: Buffer, maxSize: number): Buffer | null {
  if (reply.length <= maxSize) return reply;
  const qEnd = questionEnd(reply);
  if (qEnd < 0 || qEnd > maxSize) return null;
  const out = Buffer.from(reply.subarray(0, qEnd));
  out[2] |= FLAG_TC >> 8;
  out.fill(0, 6, 12);
  return out;
}
