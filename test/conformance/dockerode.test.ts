import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import type { Daemon } from '../helpers/daemons.js';
import { byName, conformanceSkip, same, startPair, stopPair, type Pair } from './lib.js';

// dockerode (npm) from TypeScript against weftd and dockerd 20.10, pinned to API 1.41. A
// rejected promise is reduced to what a caller sees: statusCode and json.message.

const client = (d: Daemon) => new Docker({ socketPath: d.socket, version: 'v1.41' });
const outcome = async <T>(p: Promise<T>) => {
  try {
    return { ok: await p };
  } catch (e) {
    const err = e as { statusCode?: number; json?: { message?: string } };
    return { statusCode: err.statusCode, message: err.json?.message };
  }
};

describe('dockerode conformance: networks (weftd vs dockerd)', { skip: conformanceSkip(), timeout: 180_000 }, () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(() => stopPair(pair));
  const both = <T>(fn: (d: Daemon) => Promise<T>) => same(pair, fn, {}, (s) => console.log(s)).then(() => undefined);

  test('createNetwork, getNetwork().inspect, listNetworks', () =>
    both(async (d) => {
      const dk = client(d);
      const n = await dk.createNetwork({ Name: 'ode', CheckDuplicate: true, Labels: { a: 'b' }, IPAM: { Driver: 'default', Config: [{ Subnet: '10.70.0.0/24' }] } });
      return {
        inspect: await n.inspect(),
        list: byName(await dk.listNetworks({ filters: { label: ['a=b'] } })),
        missing: await outcome(dk.getNetwork('nosuchnet').inspect()),
        dup: await outcome(dk.createNetwork({ Name: 'ode', CheckDuplicate: true })),
      };
    }));
  test('connect, disconnect, remove, prune', () =>
    both(async (d) => {
      const dk = client(d);
      const c = await dk.createContainer({ Image: 'alpine', Cmd: ['sleep', '1000'], name: 'odec' });
      await c.start();
      const n = dk.getNetwork('ode');
      const connect = await outcome(n.connect({ Container: 'odec', EndpointConfig: { Aliases: ['o1'], IPAMConfig: { IPv4Address: '10.70.0.7' } } }));
      const info = await c.inspect();
      const ep = info.NetworkSettings.Networks.ode;
      const seen = { IPAddress: ep.IPAddress, Gateway: ep.Gateway, MacAddress: ep.MacAddress, IPAMConfig: ep.IPAMConfig, Aliases: ep.Aliases?.length };
      const rmBusy = await outcome(n.remove());
      const rmBridge = await outcome(dk.getNetwork('bridge').remove());
      const connectHost = await outcome(dk.getNetwork('host').connect({ Container: 'odec' }));
      const disc = await outcome(n.disconnect({ Container: 'odec', Force: false }));
      await c.remove({ force: true });
      const pruned = await dk.pruneNetworks();
      return { connect, seen, rmBusy, rmBridge, connectHost, disc, pruned };
    }));
});
