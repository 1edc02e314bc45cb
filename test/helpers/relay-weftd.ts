import { daemonMain } from '../../src/daemon/daemon.js';
import { RelayDriver } from './relay-driver.js';

// weftd with one more network driver, `relay` (relay-driver.ts), registered through the
// DriverRegistry at start: the same daemon, flags and engine, nothing else changed. Started by
// tests with startDaemon('weft', { main: RELAY_WEFTD }).
daemonMain({ drivers: (kernel) => [new RelayDriver(kernel)] });
