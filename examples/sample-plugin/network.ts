import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Handler } from './serve.js';
import { ip } from './ip.js';
import { publish, unpublish } from './ports.js';

// A bridge-like network driver: CreateNetwork makes a Linux bridge holding the network's gateway
// address, CreateEndpoint a veth pair with one end on that bridge, Join hands the other end to the
// engine (SrcName, DstPrefix "eth") with the gateway and, for -o sample.route=<CIDR>, a static
// route. Interface names derive from the IDs, so that a plugin restarted still deletes what it
// made; the networks' gateways and routes are kept in a state file.

export const bridgeName = (networkId: string) => `sbr${networkId.slice(0, 12)}`;
export const hostVeth = (endpointId: string) => `sv${endpointId.slice(0, 12)}`;
export const peerVeth = (endpointId: string) => `sc${endpointId.slice(0, 12)}`;

interface Net {
  gateway: string; // plain address, '' for none
  routes: string[];
  /** -o sample.subnet=<a.b.c.0/24> (with --ipam-driver null): the plugin gives the addresses: the next one's last octet. */
  own?: { prefix: string; next: number };
  /** Per endpoint: its IPv4 (plain) and the port elements programmed for it. */
  endpoints?: Record<string, { ip: string; ports: string[] }>;
}

export function networkHandlers(stateFile: string, log: (m: string) => void): Record<string, Handler> {
  const nets = new Map<string, Net>(existsSync(stateFile) ? Object.entries(JSON.parse(readFileSync(stateFile, 'utf8'))) : []);
  const save = () => {
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(Object.fromEntries(nets)));
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  const netOf = (id: string): Net => {
    const n = nets.get(id);
    if (!n) throw new Error(`sample: no network ${id}`);
    return n;
  };
  return {
    'NetworkDriver.GetCapabilities': () => ({ Scope: 'local', ConnectivityScope: 'local' }),
    'NetworkDriver.CreateNetwork': (b) => {
      const generic = (b.Options?.['com.docker.network.generic'] ?? {}) as Record<string, string>;
      if (generic['sample.fail']) throw new Error(generic['sample.fail']);
      let v4 = (b.IPv4Data ?? [])[0] as { Gateway?: string } | undefined;
      const subnet = generic['sample.subnet'];
      const m = subnet ? /^(\d+\.\d+\.\d+)\.0\/24$/.exec(subnet) : null;
      if (subnet && !m) throw new Error(`sample: sample.subnet must be a /24 (a.b.c.0/24), not ${subnet}`);
      if (m) v4 = { Gateway: `${m[1]}.1/24` };
      const br = bridgeName(b.NetworkID);
      ip(['link', 'add', br, 'type', 'bridge']);
      try {
        if (v4?.Gateway) ip(['addr', 'add', v4.Gateway, 'dev', br]);
        ip(['link', 'set', br, 'up']);
      } catch (err) {
        ip(['link', 'del', br], { tolerateGone: true });
        throw err;
      }
      const routes = generic['sample.route'] ? generic['sample.route'].split(',') : [];
      nets.set(b.NetworkID, { gateway: v4?.Gateway?.split('/')[0] ?? '', routes, ...(m ? { own: { prefix: m[1]!, next: 2 } } : {}) });
      save();
      return {};
    },
    'NetworkDriver.DeleteNetwork': (b) => {
      ip(['link', 'del', bridgeName(b.NetworkID)], { tolerateGone: true });
      nets.delete(b.NetworkID);
      save();
      return {};
    },
    'NetworkDriver.CreateEndpoint': (b) => {
      const n = netOf(b.NetworkID);
      n.endpoints = { ...n.endpoints, [b.EndpointID]: { ip: String(b.Interface?.Address ?? '').split('/')[0], ports: [] } };
      save();
      const host = hostVeth(b.EndpointID);
      ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', peerVeth(b.EndpointID)]);
      try {
        ip(['link', 'set', host, 'master', bridgeName(b.NetworkID), 'up']);
      } catch (err) {
        ip(['link', 'del', host], { tolerateGone: true });
        throw err;
      }
      // A driver may only fill in what the engine left empty: with its own subnet, the address
      // and a MAC made from it.
      if (!n.own || b.Interface?.Address) return {};
      const last = n.own.next++;
      save();
      const octets = [...n.own.prefix.split('.').map(Number), last];
      const iface: Record<string, string> = { Address: `${octets.join('.')}/24` };
      if (!b.Interface?.MacAddress) iface.MacAddress = `02:42:${octets.map((o) => o.toString(16).padStart(2, '0')).join(':')}`;
      n.endpoints![b.EndpointID]!.ip = octets.join('.');
      save();
      return { Interface: iface };
    },
    'NetworkDriver.EndpointOperInfo': (b) => ({ Value: { 'sample.veth': hostVeth(b.EndpointID) } }),
    'NetworkDriver.DeleteEndpoint': (b) => {
      ip(['link', 'del', hostVeth(b.EndpointID)], { tolerateGone: true });
      const n = nets.get(b.NetworkID);
      if (n?.endpoints?.[b.EndpointID]) {
        unpublish(n.endpoints[b.EndpointID]!.ports);
        delete n.endpoints[b.EndpointID];
        save();
      }
      return {};
    },
    'NetworkDriver.Join': (b) => {
      const n = netOf(b.NetworkID);
      const answer: Record<string, unknown> = { InterfaceName: { SrcName: peerVeth(b.EndpointID), DstPrefix: 'eth' } };
      if (n.gateway) answer.Gateway = n.gateway;
      if (n.routes.length) answer.StaticRoutes = n.routes.map((Destination) => ({ Destination, RouteType: 0, NextHop: n.gateway }));
      return answer;
    },
    'NetworkDriver.Leave': () => ({}),
    'NetworkDriver.ProgramExternalConnectivity': (b) => {
      const ep = netOf(b.NetworkID).endpoints?.[b.EndpointID];
      if (!ep) throw new Error(`sample: no endpoint ${b.EndpointID}`);
      unpublish(ep.ports);
      ep.ports = publish(b.Options?.['com.docker.network.portmap'] ?? [], ep.ip);
      if (ep.ports.length) log(`published for ${b.EndpointID.slice(0, 12)}: ${ep.ports.join(', ')}`);
      save();
      return {};
    },
    'NetworkDriver.RevokeExternalConnectivity': (b) => {
      const ep = nets.get(b.NetworkID)?.endpoints?.[b.EndpointID];
      if (ep) {
        unpublish(ep.ports);
        ep.ports = [];
        save();
      }
      return {};
    },
    'NetworkDriver.DiscoverNew': () => ({}),
    'NetworkDriver.DiscoverDelete': () => ({}),
  };
}
