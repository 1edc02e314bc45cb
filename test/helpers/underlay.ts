import { execFileSync } from 'node:child_process';
import { createTestNetns, type TestNetns } from './netns.js';

// Several "hosts" for multi-host tests: each host is a network namespace whose eth0 is one end
// of a veth pair; the other ends hang on one bridge inside a namespace of its own (the underlay
// switch). Addresses come from a test-only /24 that exists only inside these namespaces.

export const UNDERLAY_PREFIX = '10.210.0';

export interface TestHost {
  name: string;
  netns: TestNetns;
  /** The host's underlay address (eth0). */
  addr: string;
}

export interface Underlay {
  hosts: TestHost[];
  /** Cuts a host off the underlay (its link to the switch goes down) or puts it back. */
  setLink(host: TestHost, up: boolean): void;
  /** Deletes every host and the switch; collects every error and throws them together. */
  destroy(): void;
}

export function createUnderlay(count: number): Underlay {
  const sw = createTestNetns('wul');
  const hosts: TestHost[] = [];
  const ip = (ns: TestNetns, args: string[]) => execFileSync('ip', ['-n', ns.name, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    ip(sw, ['link', 'add', 'ul0', 'type', 'bridge']);
    ip(sw, ['link', 'set', 'ul0', 'up']);
    for (let i = 0; i < count; i++) {
      const netns = createTestNetns('wh');
      const host: TestHost = { name: `host${i + 1}`, netns, addr: `${UNDERLAY_PREFIX}.${i + 11}` };
      hosts.push(host);
      // Made in the switch namespace, one end moved into the host and renamed eth0 there.
      ip(sw, ['link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', `h${i}`]);
      ip(sw, ['link', 'set', `h${i}`, 'netns', netns.name]);
      ip(sw, ['link', 'set', `p${i}`, 'master', 'ul0', 'up']);
      ip(netns, ['link', 'set', `h${i}`, 'name', 'eth0']);
      ip(netns, ['addr', 'add', `${host.addr}/24`, 'dev', 'eth0']);
      ip(netns, ['link', 'set', 'eth0', 'up']);
    }
  } catch (err) {
    for (const h of hosts) h.netns.destroy();
    sw.destroy();
    throw err;
  }
  return {
    hosts,
    setLink(host, up) {
      ip(sw, ['link', 'set', `p${hosts.indexOf(host)}`, up ? 'up' : 'down']);
    },
    destroy() {
      const errors: string[] = [];
      for (const ns of [...hosts.map((h) => h.netns), sw]) {
        try {
          ns.destroy();
        } catch (e) {
          errors.push(`${ns.name}: ${e}`);
        }
      }
      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      for (const ns of [...hosts.map((h) => h.netns), sw]) if (left.split('\n').some((l) => l.split(' ')[0] === ns.name)) errors.push(`namespace ${ns.name} still exists`);
      if (errors.length) throw new Error(`underlay teardown: ${errors.join('; ')}`);
    },
  };
}
