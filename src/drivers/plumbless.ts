import { invalid } from '../common/errors.js';
import type { EndpointRecord, NetworkRecord } from '../common/model.js';
import type { DriverCapabilities, NetworkDriver } from './driver.js';

/** A driver with nothing to plumb in the kernel (host, null): only its options are checked. */
export abstract class PlumblessDriver implements NetworkDriver {
  abstract readonly name: string;
  abstract readonly capabilities: DriverCapabilities;

  async prepareNetwork(net: NetworkRecord, _existing: NetworkRecord[]): Promise<Record<string, string>> {
    const unknown = Object.keys(net.options ?? {});
    if (unknown.length) throw invalid(`${this.name} network does not support driver options: ${unknown.sort().join(', ')}`);
    return {};
  }

  async createNetwork(_net: NetworkRecord): Promise<void> {}
  async deleteNetwork(_net: NetworkRecord): Promise<void> {}
  async join(_net: NetworkRecord, _ep: EndpointRecord, _netnsPath: string, _opts: { defaultRoute: boolean }): Promise<void> {}
  async leave(_net: NetworkRecord, _ep: EndpointRecord, _netnsPath: string | null): Promise<void> {}
  async restore(_nets: NetworkRecord[], _eps: Map<string, { ep: EndpointRecord; netnsPath: string }[]>): Promise<void> {}
}
