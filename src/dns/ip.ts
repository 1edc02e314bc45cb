import { isIPv4, isIPv6 } from 'node:net';

// Address helpers for the DNS table: canonical text forms (so that the source address dgram
// reports and the addresses in endpoint records compare as strings) and reverse-zone names.

/** "172.18.0.2/16" or "172.18.0.2" → "172.18.0.2"; IPv6 in RFC 5952 form; '' when invalid. */
export function canonicalIp(addr: string): string {
  if (!addr) return '';
  const slash = addr.indexOf('/');
  const plain = slash >= 0 ? addr.slice(0, slash) : addr;
  if (isIPv4(plain)) return plain;
  if (!isIPv6(plain)) return '';
  const bytes = ipv6Bytes(plain);
  return bytes ? ipv6Text(bytes) : '';
}

export function ipv4Bytes(addr: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  const parts = addr.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

export function ipv6Bytes(addr: string): Buffer | null {
  let text = addr;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // Embedded IPv4 (::ffff:1.2.3.4): rewritten as two hex words.
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (m) {
    if (!isIPv4(m[2])) return null;
    const b = ipv4Bytes(m[2]);
    text = `${m[1]}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (halves.length === 2 && head.length + rest.length > 7) return null;
  const words = halves.length === 2 ? [...head, ...new Array(8 - head.length - rest.length).fill(0), ...rest] : head;
  if (words.length !== 8 || words.some((w) => !(w >= 0 && w <= 0xffff))) return null;
  const out = Buffer.allocUnsafe(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(words[i], i * 2);
  return out;
}

/** RFC 5952 text (lower case, longest zero run compressed), as inet_ntop prints it. */
export function ipv6Text(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // inet_ntop prints IPv4-mapped addresses with a dotted tail.
  if (bestStart === 0 && bestLen === 5 && words[5] === 0xffff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** "4.3.2.1.in-addr.arpa" → "1.2.3.4", nibble ip6.arpa names → canonical IPv6; null otherwise. */
export function ptrToIp(qname: string): string | null {
  if (qname.endsWith('.in-addr.arpa')) {
    const parts = qname.slice(0, -13).split('.');
    if (parts.length !== 4) return null;
    for (const p of parts) if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return null;
    return `${parts[3]}.${parts[2]}.${parts[1]}.${parts[0]}`;
  }
  if (qname.endsWith('.ip6.arpa')) {
    const nibbles = qname.slice(0, -9).split('.');
    if (nibbles.length !== 32) return null;
    const out = Buffer.allocUnsafe(16);
    for (let i = 0; i < 16; i++) {
      const lo = nibbles[30 - 2 * i];
      const hi = nibbles[31 - 2 * i];
      if (!/^[0-9a-f]$/.test(lo) || !/^[0-9a-f]$/.test(hi)) return null;
      out[i] = (parseInt(hi, 16) << 4) | parseInt(lo, 16);
    }
    return ipv6Text(out);
  }
  return null;
}

/** Encodes a domain name in DNS wire form (labels, root), no compression. */
export function encodeName(name: string): Buffer {
  const labels = name.split('.').filter(Boolean);
  const parts: number[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'utf8').subarray(0, 63);
    parts.push(b.length, ...b);
  }
  parts.push(0);
  return Buffer.from(parts);
}
