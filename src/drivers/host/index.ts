import { invalid } from '../../engine/errors.js';
import type { EndpointRecord, NetworkRecord } from '../../engine/model.js';
import type { NetworkDriver } from '../driver.js';

// Docker's host network: the container shares the daemon's network namespace (the engine hands
// the runtime netns 'host'), so there is nothing to plumb. Only the predefined instance exists.

export class HostDriver implements NetworkDriver {
  readonly name = 'host';

  prepareNetwork(net: NetworkRecord, _existing: NetworkRecord[]): Record<string, string> {
    const unknown = Object.keys(net.options ?? {});
    if (unknown.length) throw invalid(`host network does not support driver options: ${unknown.sort().join(', ')}`);
    return {};
  }

  async createNetwork(_net: NetworkRecord): Promise<void> {}
  async deleteNetwork(_net: NetworkRecord): Promise<void> {}
  async join(_net: NetworkRecord, _ep: EndpointRecord, _netnsPath: string, _opts: { defaultRoute: boolean }): Promise<void> {}
  async leave(_net: NetworkRecord, _ep: EndpointRecord, _netnsPath: string | null): Promise<void> {}
  async restore(_nets: NetworkRecord[], _eps: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<void> {}
}
