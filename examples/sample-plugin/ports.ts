import { execFileSync } from 'node:child_process';

// Published ports for the sample driver: ProgramExternalConnectivity hands it Docker's portmap
// (com.docker.network.portmap); it DNATs each host port to the container in a table of its own,
// from other hosts (prerouting) and from the host itself (output). Revoke removes them.

const TABLE = 'sample_ports';
const PROTO: Record<number, string> = { 6: 'tcp', 17: 'udp' };

interface Binding {
  Proto: number;
  Port: number;
  HostIP?: string;
  HostPort: number;
}

function nft(script: string): void {
  execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
}

function ensureTable(): void {
  nft(
    [
      `add table ip ${TABLE}`,
      `add map ip ${TABLE} ports { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
      `add chain ip ${TABLE} pre { type nat hook prerouting priority dstnat; policy accept; }`,
      `add chain ip ${TABLE} out { type nat hook output priority -100; policy accept; }`,
      `flush chain ip ${TABLE} pre`,
      `flush chain ip ${TABLE} out`,
      `add rule ip ${TABLE} pre fib daddr type local dnat ip to meta l4proto . th dport map @ports`,
      `add rule ip ${TABLE} out fib daddr type local dnat ip to meta l4proto . th dport map @ports`,
    ].join('\n'),
  );
}

const element = (b: Binding, ip: string) => `${PROTO[b.Proto]} . ${b.HostPort} : ${ip} . ${b.Port}`;

/** Programs the bindings of one endpoint (address: its IPv4, plain). */
export function publish(bindings: Binding[], address: string): string[] {
  const elems = bindings.filter((b) => PROTO[b.Proto] && b.HostPort > 0).map((b) => element(b, address));
  if (!elems.length) return [];
  ensureTable();
  nft(`add element ip ${TABLE} ports { ${elems.join(', ')} }`);
  return elems;
}

export function unpublish(elems: string[]): void {
  if (!elems.length) return;
  try {
    nft(`delete element ip ${TABLE} ports { ${elems.map((e) => e.split(' : ')[0]).join(', ')} }`);
  } catch {
    /* already gone (the table was flushed) */
  }
}
