import { parseArgs, runCliOps, writeResults } from './cli-ops.js';

// Runs every benchmark and writes bench/results/latest.md (npm run bench [-- --smoke]; smoke runs
// write bench/results/smoke.md instead).
//   --smoke              N=2 per operation (CI)
//   --engines weft,docker  which engines (default both; WEFT_BENCH_ENGINES too)

const opts = parseArgs(process.argv.slice(2));
const sections: string[] = [];
const all: Record<string, unknown> = {};

const cliOps = await runCliOps(opts);
sections.push(cliOps.markdown);
all['cli-ops'] = cliOps.results;

const markdown = sections.join('\n');
console.log(markdown);
writeResults(markdown, all, opts.smoke);
