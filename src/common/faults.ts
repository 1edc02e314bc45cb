import { writeSync } from 'node:fs';
import { systemError } from './errors.js';

// Fault injection for crash-consistency tests. The engine and runtime call faultPoint(name) at
// the points where a crash leaves the store and the kernel out of step: between a store write
// and the kernel work it records, and between kernel steps. Disabled (no WEFT_FAULTS or
// WEFT_FAULT_RANDOM in weftd's environment), faultPoint is an empty function.
//
//   WEFT_FAULTS="point=action[@n],..."  action: kill (SIGKILL weftd) or throw (the request fails
//                                       with a 500); @n: at the n-th time the point is reached
//                                       (default 1). point "*" counts every point: "*=kill@17"
//                                       kills at the 17th point reached, whichever it is.
//   WEFT_FAULT_RANDOM="seed:probability"  SIGKILL at each point reached with that probability,
//                                       from a seeded generator (the same seed, the same run).
//
// Before a kill weftd writes one log line {"faultPoint": name, "hit": n, "msg": "fault injected"}
// to stderr, so a test knows where it died. FAULT_POINTS below is the list of every point
// (each is called exactly once in src/, checked by test/unit/faults.test.ts).

export const FAULT_POINTS = {
  'network.create.after-record': 'network record written; driver not yet called',
  'network.create.after-kernel': 'driver made the network; the API has not answered',
  'network.rm.after-record': 'network record and pools gone; kernel objects still there',
  'network.connect.after-record': 'container record lists the new network; no endpoint yet',
  'network.connect.after-join': 'endpoint plumbed; the container files not rewritten',
  'network.disconnect.after-record': 'network dropped from the container record; endpoint still plumbed',
  'network.disconnect.after-leave': 'endpoint gone; the container files not rewritten',
  'sandbox.setup.after-record': 'netns path recorded; namespace not created',
  'sandbox.setup.after-netns': 'namespace created; no endpoint joined',
  'sandbox.join.after-record': 'endpoint and address recorded; driver has not plumbed it',
  'sandbox.leave.after-kernel': 'driver unplumbed the endpoint; its record and address still there',
  'sandbox.teardown.after-leave': 'every endpoint left; namespace not deleted',
  'container.create.after-record': 'container record written; runtime has no spec yet',
  'container.start.after-sandbox': 'sandbox set up; runtime not started',
  'container.start.after-runtime': 'runc started the container; the record still says it is not running',
  'container.stop.after-signal': 'stop signal sent; the exit not waited for',
  'container.rm.after-kill': 'SIGKILL sent by rm -f; the exit not waited for',
  'container.rm.after-sandbox': 'sandbox torn down; runtime files and record still there',
  'container.rm.after-runtime': 'runtime files removed; the record still there',
  'container.exit.after-record': 'exit recorded; sandbox not torn down',
  'runtime.start.after-create': 'conmon ran runc create; runc start not run',
  'runtime.start.after-runc-start': 'runc start returned; the engine has not heard',
} as const;

export type FaultPoint = keyof typeof FAULT_POINTS;
export type FaultAction = 'kill' | 'throw';

interface Rule {
  action: FaultAction;
  at: number;
}

/** What to do at each point reached, from the two environment variables. Pure apart from its counters. */
export class FaultPlan {
  private readonly rules = new Map<string, Rule>();
  private readonly hits = new Map<string, number>();
  private total = 0;
  private readonly random: { next: () => number; p: number } | null = null;

  constructor(spec: { faults?: string; random?: string }) {
    for (const part of (spec.faults ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const m = /^([\w.*-]+)=(kill|throw)(?:@(\d+))?$/.exec(part);
      if (!m) throw new Error(`WEFT_FAULTS: cannot parse "${part}" (want point=kill|throw[@n])`);
      if (m[1] !== '*' && !(m[1] in FAULT_POINTS)) throw new Error(`WEFT_FAULTS: unknown fault point "${m[1]}" (known: ${Object.keys(FAULT_POINTS).join(', ')})`);
      this.rules.set(m[1], { action: m[2] as FaultAction, at: Number(m[3] ?? 1) });
    }
    if (spec.random) {
      const m = /^(\d+):(0(?:\.\d+)?|1(?:\.0+)?)$/.exec(spec.random.trim());
      if (!m) throw new Error(`WEFT_FAULT_RANDOM: cannot parse "${spec.random}" (want seed:probability, e.g. 42:0.05)`);
      this.random = { next: mulberry32(Number(m[1])), p: Number(m[2]) };
    }
  }

  get enabled(): boolean {
    return this.rules.size > 0 || this.random !== null;
  }

  /** Counts a visit to `point`; returns the action due now, if any. */
  visit(point: FaultPoint): { action: FaultAction; hit: number } | null {
    const hit = (this.hits.get(point) ?? 0) + 1;
    this.hits.set(point, hit);
    this.total++;
    const own = this.rules.get(point);
    if (own && own.at === hit) return { action: own.action, hit };
    const any = this.rules.get('*');
    if (any && any.at === this.total) return { action: any.action, hit: this.total };
    if (this.random && this.random.next() < this.random.p) return { action: 'kill', hit };
    return null;
  }
}

/** A small seeded generator (mulberry32): the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function act(plan: FaultPlan, point: FaultPoint): void {
  const due = plan.visit(point);
  if (!due) return;
  if (due.action === 'throw') throw systemError(`fault injected at ${point}`);
  try {
    writeSync(2, `{"level":60,"time":${Date.now()},"pid":${process.pid},"faultPoint":"${point}","hit":${due.hit},"msg":"fault injected"}\n`);
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}

const plan = new FaultPlan({ faults: process.env.WEFT_FAULTS, random: process.env.WEFT_FAULT_RANDOM });

/** Marks a fault point (see FAULT_POINTS). Without WEFT_FAULTS/WEFT_FAULT_RANDOM it does nothing. */
export const faultPoint: (point: FaultPoint) => void = plan.enabled ? (point) => act(plan, point) : () => undefined;
