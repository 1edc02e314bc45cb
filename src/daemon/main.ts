import { daemonMain } from './daemon.js';

// weftd's entry point (bin/weftd imports it). Everything is in daemon.ts.
daemonMain();
