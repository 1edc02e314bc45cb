import type { DriverCapabilities } from '../driver.js';
import { PlumblessDriver } from '../plumbless.js';

// Docker's `none` network (driver "null"): the container keeps its own namespace with only
// loopback, which the engine already brought up when it created the namespace.
export class NullDriver extends PlumblessDriver {
  readonly name = 'null';
  readonly capabilities: DriverCapabilities = { scope: 'local', ipam: false, singleton: true, publishesPorts: false, dns: 'none', sandbox: 'isolated' };
}
