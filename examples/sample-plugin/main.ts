import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ipamHandlers } from './ipam.js';
import { networkHandlers } from './network.js';
import { serve, type Faults } from './serve.js';

// weft's sample plugin: a network driver and an IPAM driver speaking Docker's legacy plugin
// protocol, each on its own socket in --dir (<name>.sock, <ipam-name>.sock). Run it as root in
// the daemon's network namespace:
//   node dist/examples/sample-plugin/main.js --dir /run/docker/plugins
//   docker network create -d sample --ipam-driver sample-ipam samplenet
// For tests: --hang <Interface.Method> never answers it, --fail <Interface.Method>=<text>
// answers that Err (status 500), --crash <Interface.Method> does it and exits before answering;
// all repeatable.

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/run/docker/plugins' },
    name: { type: 'string', default: 'sample' },
    'ipam-name': { type: 'string', default: 'sample-ipam' },
    state: { type: 'string' }, // directory of the state files (default: --dir)
    hang: { type: 'string', multiple: true, default: [] },
    fail: { type: 'string', multiple: true, default: [] },
    crash: { type: 'string', multiple: true, default: [] },
    quiet: { type: 'boolean', default: false },
  },
});

const faults: Faults = {
  hang: new Set(values.hang),
  fail: new Map(values.fail.map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)])),
  crash: new Set(values.crash),
};
const log = (m: string) => {
  if (!values.quiet) process.stdout.write(`${new Date().toISOString()} ${m}\n`);
};

const dir = values.dir!;
const state = values.state ?? dir;
await serve(join(dir, `${values.name}.sock`), ['NetworkDriver'], networkHandlers(join(state, `${values.name}.state.json`), log), faults, log);
await serve(join(dir, `${values['ipam-name']}.sock`), ['IpamDriver'], ipamHandlers(join(state, `${values['ipam-name']}.state.json`)), faults, log);
log(`sample plugin: ${values.name} and ${values['ipam-name']} listening in ${dir}`);
process.on('SIGTERM', () => process.exit(0));
