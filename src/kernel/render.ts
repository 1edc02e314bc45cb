import type { AddrStep, FdbStep, LinkAdd, LinkSet, NeighStep, RouteStep, Step } from './types.js';

// Steps as the text `ip -batch` / `bridge -batch` read (the command path runs exactly these lines),
// and a one-line description of any step for error messages. Pure, unit-tested as text.

export type Tool = 'ip' | 'bridge' | 'nft' | 'sysctl' | 'netns';

export function toolOf(step: Step): Tool {
  if (step.op.startsWith('fdb.')) return 'bridge';
  if (step.op.startsWith('nft.')) return 'nft';
  if (step.op === 'sysctl') return 'sysctl';
  if (step.op.startsWith('netns.')) return 'netns';
  return 'ip';
}

/** Batch lines split on whitespace and have no quoting: refuse values that would break a line. */
export function assertBatchSafe(value: string, what: string): string {
  if (!value || /[\s"'\\#]/.test(value)) throw new Error(`unsafe ${what} for ip batch: ${JSON.stringify(value)}`);
  return value;
}

const name = (v: string) => assertBatchSafe(v, 'interface name');
const safe = (v: string, what: string) => assertBatchSafe(v, what);
const num = (v: number, what: string) => {
  if (!Number.isInteger(v) || v < 0) throw new Error(`invalid ${what}: ${v}`);
  return String(v);
};

function linkAdd(s: LinkAdd): string {
  const p = ['link add'];
  if (s.parent && s.kind !== 'vxlan') p.push(`link ${name(s.parent)} name ${name(s.name)}`);
  else p.push(name(s.name));
  if (s.mtu !== undefined) p.push(`mtu ${num(s.mtu, 'mtu')}`);
  if (s.netns) p.push(`netns ${safe(s.netns, 'namespace path')}`);
  if (s.mac) p.push(`address ${safe(s.mac, 'MAC')}`);
  if (s.master) p.push(`master ${name(s.master)}`);
  if (s.up) p.push('up');
  p.push(`type ${s.kind}`);
  if (s.kind === 'veth') {
    if (!s.peer) throw new Error(`veth ${s.name} without a peer`);
    p.push(`peer name ${name(s.peer.name)}`);
    if (s.peer.mtu !== undefined) p.push(`mtu ${num(s.peer.mtu, 'mtu')}`);
    if (s.peer.mac) p.push(`address ${safe(s.peer.mac, 'MAC')}`);
    if (s.peer.netns) p.push(`netns ${safe(s.peer.netns, 'namespace path')}`);
  }
  if (s.kind === 'macvlan' && s.mode) p.push(`mode ${safe(s.mode, 'macvlan mode')}`);
  if (s.kind === 'vlan') p.push(`id ${num(s.vlanId ?? -1, 'VLAN id')}`);
  if (s.kind === 'vxlan') {
    const v = s.vxlan;
    if (!v) throw new Error(`vxlan ${s.name} without an id`);
    p.push(`id ${num(v.vni, 'VXLAN id')}`);
    if (v.local) p.push(`local ${safe(v.local, 'address')}`);
    if (v.remote) p.push(`remote ${safe(v.remote, 'address')}`);
    if (s.parent) p.push(`dev ${name(s.parent)}`);
    if (v.port !== undefined) p.push(`dstport ${num(v.port, 'port')}`);
    if (v.learning !== undefined) p.push(v.learning ? 'learning' : 'nolearning');
    if (v.ttl !== undefined) p.push(`ttl ${num(v.ttl, 'ttl')}`);
    if (v.proxy) p.push('proxy');
  }
  return p.join(' ');
}

function linkSet(s: LinkSet): string[] {
  const lines: string[] = [];
  const p = [`link set ${name(s.name)}`];
  if (s.netns) p.push(`netns ${safe(s.netns, 'namespace path')}`);
  if (s.rename) p.push(`name ${name(s.rename)}`);
  if (s.mac) p.push(`address ${safe(s.mac, 'MAC')}`);
  if (s.mtu !== undefined) p.push(`mtu ${num(s.mtu, 'mtu')}`);
  if (s.alias !== undefined) p.push(`alias ${safe(s.alias, 'alias')}`);
  if (s.up === false) p.push('down');
  if (s.master === null) p.push('nomaster');
  else if (s.master) p.push(`master ${name(s.master)}`);
  if (s.up === true) p.push('up');
  if (p.length > 1) lines.push(p.join(' '));
  // Slave data needs the master in place: its own line, after the rest (as the agent does).
  if (s.hairpin !== undefined) lines.push(`link set ${name(s.rename ?? s.name)} type bridge_slave hairpin ${s.hairpin ? 'on' : 'off'}`);
  if (!lines.length) throw new Error(`link set ${s.name}: nothing to set`);
  return lines;
}

function addr(s: AddrStep): string {
  const p = [`addr ${s.op.slice(5)} ${safe(s.cidr, 'address')}`];
  if (s.broadcast) p.push('brd +');
  p.push(`dev ${name(s.dev)}`);
  if (s.nodad) p.push('nodad');
  if (s.noprefixroute) p.push('noprefixroute');
  return p.join(' ');
}

function route(s: RouteStep): string {
  // A batch line cannot say -6: an IPv6 default without a gateway is written ::/0.
  const dst = s.dst === 'default' && s.family === 6 && !s.via ? '::/0' : safe(s.dst, 'route');
  const p = [`route ${s.op.slice(6)} ${dst}`];
  if (s.via) p.push(`via ${safe(s.via, 'gateway')}`);
  if (s.dev) p.push(`dev ${name(s.dev)}`);
  if (s.src) p.push(`src ${safe(s.src, 'address')}`);
  if (s.metric !== undefined) p.push(`metric ${num(s.metric, 'metric')}`);
  return p.join(' ');
}

function neigh(s: NeighStep): string {
  if (s.op === 'neigh.del') return `neigh del ${safe(s.ip, 'address')} dev ${name(s.dev)}`;
  return `neigh replace ${safe(s.ip, 'address')} lladdr ${safe(s.mac ?? '', 'MAC')} dev ${name(s.dev)} nud permanent`;
}

/** A `bridge -batch` line. */
export function bridgeLine(s: FdbStep): string {
  const p = [`fdb ${s.op.slice(4)} ${safe(s.mac, 'MAC')} dev ${name(s.dev)}`];
  if (s.dst) p.push(`dst ${safe(s.dst, 'address')}`);
  p.push(s.master ? 'master' : 'self');
  if (s.op !== 'fdb.del') p.push('permanent');
  return p.join(' ');
}

/** The `ip -batch` lines of one step (a link.set with hairpin is two). */
export function ipLines(step: Step): string[] {
  switch (step.op) {
    case 'link.add':
      return [linkAdd(step)];
    case 'link.set':
      return linkSet(step);
    case 'link.del':
      return [`link del ${name(step.name)}`];
    case 'addr.add':
    case 'addr.replace':
    case 'addr.del':
      return [addr(step)];
    case 'route.add':
    case 'route.replace':
    case 'route.del':
      return [route(step)];
    case 'neigh.replace':
    case 'neigh.del':
      return [neigh(step)];
    default:
      throw new Error(`${step.op} is not an ip command`);
  }
}

/** One line naming the step, for error messages. */
export function describe(step: Step): string {
  switch (toolOf(step)) {
    case 'ip':
      return ipLines(step).join('; ');
    case 'bridge':
      return `bridge ${bridgeLine(step as FdbStep)}`;
    case 'sysctl':
      return step.op === 'sysctl' ? `sysctl ${step.key}=${step.value}` : step.op;
    case 'netns':
      return step.op === 'netns.create' || step.op === 'netns.delete' ? `${step.op} ${step.path}` : step.op;
    default: {
      const script = step.op === 'nft.apply' || step.op === 'nft.check' ? step.script : '';
      const lines = script.split('\n').filter(Boolean);
      return `${step.op === 'nft.check' ? 'nft -c -f' : 'nft -f'} (${lines.length === 1 ? lines[0] : `${lines.length} lines`})`;
    }
  }
}
