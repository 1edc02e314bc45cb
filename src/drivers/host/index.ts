import type { DriverCapabilities } from '../driver.js';
import { PlumblessDriver } from '../plumbless.js';

// Docker's host network: the container shares the daemon's network namespace (the engine hands
// the runtime netns 'host'), so there is nothing to plumb. Only the predefined instance exists.
export class HostDriver extends PlumblessDriver {
  readonly name = 'host';
  readonly capabilities: DriverCapabilities = { scope: 'local', ipam: false, singleton: true, publishesPorts: false, dns: 'none', sandbox: 'host' };
}
