/**
 * Decider core throughput: decisions per second (timers + decide + evolve, as the runtime does them) for
 * (a) 10,000 resources with mixed traffic and (b) one hot resource holding 100,000 live reservations, each
 * with the interval-tree availability index and with the naive linear scan, and the ratio.
 *
 *   npm run bench:decider            (BENCH_SCALE=0.2 for a quick run, BENCH_ONLY=a|b for one workload)
 *
 * The command lists are generated up front from a seeded PRNG, so both variants decide exactly the same
 * commands; the bench checks they reach the same outcomes. Each measurement is the best of a few runs
 * (the machine is shared), and reports wall-clock and process-CPU rates (CPU time includes V8's GC
 * helper threads, so the CPU rate is conservative).
 */
import { loadavg } from 'node:os';
import type { DecideContext } from '../processors/core/decide.ts';
import { NaiveAvailability } from '../processors/core/naive-availability.ts';
import type { CoreOptions } from '../processors/core/options.ts';
import type { ResourceStateJson } from '../processors/core/state.ts';
import { ResourceStore } from '../processors/core/store.ts';
import type { Command, Customer, Event } from '../schemas/generated/types.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2027, 0, 1);

/** mulberry32: a tiny seeded PRNG, so runs are repeatable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const uuid = (tag: string, n: number): string =>
  `${tag}0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

const customers: Customer[] = Array.from({ length: 1_000 }, (_, i) => ({
  id: `cust-${i}`,
  fullName: `Customer ${i}`,
  email: `c${i}@example.com`,
  phone: null,
}));

/** Generates commands; targets of follow-ups are earlier requests (some refused: realistic rejections). */
class Traffic {
  private n = 0;
  readonly requested: { id: string; resourceId: string; customerId: string }[] = [];
  readonly sent: Command[] = [];

  constructor(readonly random: () => number) {}

  int(max: number): number {
    return Math.floor(this.random() * max);
  }

  head(resourceId: string) {
    return { commandId: uuid('c', ++this.n), idempotencyKey: null, acceptedAt: T0, resourceId };
  }

  upsert(resourceId: string, capacity: number): Command {
    return {
      type: 'UpsertResource',
      ...this.head(resourceId),
      actorId: 'admin',
      name: resourceId,
      description: null,
      capacity,
      unitPrice: { amountMinor: 2_500, currency: 'EUR' },
      holdTimeoutMs: 15 * 60_000,
    };
  }

  request(resourceId: string, start: number, hours: number, quantity: number): Command {
    const customer = customers[this.int(customers.length)] as Customer;
    const id = uuid('r', this.n + 1);
    this.requested.push({ id, resourceId, customerId: customer.id });
    return this.keep({
      type: 'RequestReservation',
      ...this.head(resourceId),
      reservationId: id,
      customer,
      start,
      end: start + hours * HOUR,
      quantity,
    });
  }

  /** A payment, cancel, reopen or replay aimed at one of the last `recent` requests. */
  followUp(kind: 'pay' | 'fail' | 'cancel' | 'reopen', recent: number): Command {
    const from = Math.max(0, this.requested.length - recent);
    const target = this.requested[from + this.int(this.requested.length - from)];
    if (target === undefined) throw new Error('no request to follow up');
    const base = { ...this.head(target.resourceId), reservationId: target.id, customerId: target.customerId };
    if (kind === 'cancel') return this.keep({ type: 'CancelReservation', ...base, reason: null });
    if (kind === 'reopen') return this.keep({ type: 'ReopenReservation', ...base });
    return this.keep({
      type: 'RecordPaymentResult',
      ...base,
      outcome: kind === 'pay' ? 'SUCCEEDED' : 'FAILED',
      paymentReference: null,
      amount: null,
      failureReason: kind === 'fail' ? 'card_declined' : null,
    });
  }

  /** The same command again (a redelivery): decided as DUPLICATE. */
  replay(): Command {
    return this.sent[this.sent.length - 1 - this.int(Math.min(this.sent.length, 1_000))] as Command;
  }

  /**
   * Mixed traffic: 55% requests, 20% payments, 5% failed payments (both for one of the last 1,000
   * requests), 10% cancels, 5% reopens (of any of the last `recent` requests), 5% replays.
   */
  mixed(newRequest: () => Command, recent: number): Command {
    const p = this.random();
    if (p < 0.55 || this.requested.length === 0) return newRequest();
    if (p < 0.75) return this.followUp('pay', 1_000);
    if (p < 0.8) return this.followUp('fail', 1_000);
    if (p < 0.9) return this.followUp('cancel', recent);
    if (p < 0.95) return this.followUp('reopen', recent);
    return this.replay();
  }

  private keep(command: Command): Command {
    this.sent.push(command);
    return command;
  }
}

interface Workload {
  readonly name: string;
  /** Commands applied before timing (resources, preloaded reservations). */
  readonly setup: readonly Command[];
  readonly timed: readonly Command[];
  /** Clock advance per command, ms. */
  readonly tickMs: number;
}

function manyResources(): Workload {
  const t = new Traffic(prng(1));
  const resources = 10_000;
  const setup = Array.from({ length: resources }, (_, i) => t.upsert(`res-${i}`, 1 + (i % 20)));
  const timed: Command[] = [];
  const count = Math.round(200_000 * SCALE);
  for (let i = 0; i < count; i++) {
    timed.push(
      t.mixed(() => {
        const start = T0 + DAY + t.int(30 * 24) * HOUR; // any hour of the next month
        return t.request(`res-${t.int(resources)}`, start, 1 + t.int(8), 1 + t.int(3));
      }, 50_000),
    );
  }
  return { name: '(a) 10,000 resources, mixed traffic', setup, timed, tickMs: 5 };
}

function hotResource(): Workload {
  const t = new Traffic(prng(2));
  const live = 100_000;
  const capacity = 10;
  const horizonHours = 20_000; // ~2.3 years: 100k one-hour bookings fill about half of the 10 units
  const slot = (): number => T0 + DAY + t.int(horizonHours * 4) * 15 * 60_000;
  const setup: Command[] = [t.upsert('hot', capacity)];
  // Preload: requests and their payments, until 100k are Confirmed (a request that does not fit is refused).
  const accepted = new Set<number>();
  const load = new Map<number, number>(); // quarter-hour → units, to pick requests that fit
  while (accepted.size < live) {
    const start = slot();
    const quarters = [0, 1, 2, 3].map((q) => start + q * 15 * 60_000);
    if (quarters.some((q) => (load.get(q) ?? 0) >= capacity)) continue;
    for (const q of quarters) load.set(q, (load.get(q) ?? 0) + 1);
    setup.push(t.request('hot', start, 1, 1));
    setup.push(t.followUp('pay', 1));
    accepted.add(accepted.size);
  }
  const timed: Command[] = [];
  const count = Math.round(200_000 * SCALE);
  for (let i = 0; i < count; i++)
    timed.push(t.mixed(() => t.request('hot', slot(), 1 + t.int(3), 1 + t.int(2)), 200_000));
  return { name: '(b) 1 hot resource, 100,000 live reservations', setup, timed, tickMs: 1 };
}

interface Result {
  readonly decisions: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly outcomes: string[];
  readonly store: ResourceStore;
}

/** The states after the setup, decided once with the tree (deciding 100k preloads naively takes minutes). */
function setUp(workload: Workload): { states: ResourceStateJson[]; ids: number } {
  const store = new ResourceStore();
  let ids = 0;
  const ctx: DecideContext = { now: T0, newId: () => uuid('e', ++ids) };
  for (const command of workload.setup) store.handle(command, ctx);
  return { states: store.toJSON(), ids };
}

/** Loads the set-up states, then times `limit` commands: due timers, decide, evolve, like the runtime. */
function measure(
  workload: Workload,
  setup: ReturnType<typeof setUp>,
  options: Partial<CoreOptions>,
  limit: number,
): Result {
  const store = new ResourceStore(options);
  store.load(setup.states);
  let ids = setup.ids;
  const newId = () => uuid('e', ++ids);
  let now = T0;
  const ctx = (): DecideContext => ({ now, newId });
  const outcomes: string[] = [];
  const commands = workload.timed.slice(0, limit);
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let i = 0;
  for (const command of commands) {
    now += workload.tickMs;
    const events: Event[] = store.handle(command, ctx());
    const last = events[events.length - 1];
    outcomes.push(last?.type === 'ReservationRejected' ? last.reason : (last?.type ?? 'none'));
    if (++i % 1_000 === 0) store.tick(ctx());
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return {
    decisions: commands.length,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    outcomes,
    store,
  };
}

const naive: Partial<CoreOptions> = { availability: () => new NaiveAvailability() };
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The fastest of `times` measurements: on a shared machine the best run is the least disturbed. */
function best(times: number, measureOnce: () => Result): Result {
  let fastest = measureOnce();
  for (let i = 1; i < times; i++) {
    const next = measureOnce();
    if (next.seconds < fastest.seconds) fastest = next;
  }
  return fastest;
}

const rates = (r: Result): string =>
  `${fmt(r.decisions)} decisions in ${r.seconds.toFixed(2)} s = ${fmt(r.decisions / r.seconds)} decisions/s ` +
  `(${fmt(r.decisions / r.cpuSeconds)} per CPU-second)`;

/** Times the tree on every timed command and the naive index on the first `naiveLimit` of them. */
function run(workload: Workload, naiveLimit: number): Result {
  const setup = setUp(workload);
  measure(workload, setup, {}, Math.min(20_000, workload.timed.length)); // warm up the JIT
  const tree = best(3, () => measure(workload, setup, {}, workload.timed.length));
  const slow = best(2, () => measure(workload, setup, naive, naiveLimit));
  const same = slow.outcomes.every((o, i) => o === tree.outcomes[i]);
  const ratio = slow.seconds / slow.decisions / (tree.seconds / tree.decisions);
  const mix = new Map<string, number>();
  for (const o of tree.outcomes) mix.set(o, (mix.get(o) ?? 0) + 1);
  console.log(`\n${workload.name}`);
  console.log(`  tree : ${rates(tree)}`);
  console.log(`  naive: ${rates(slow)}`);
  console.log(`  ratio: ${ratio.toFixed(1)}x   same outcomes on the naive run: ${same ? 'yes' : 'NO'}`);
  console.log(
    `  outcomes: ${[...mix].map(([k, v]) => `${k} ${((100 * v) / tree.decisions).toFixed(1)}%`).join(', ')}`,
  );
  if (!same) process.exitCode = 1;
  return tree;
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(`decider core bench (node ${process.version}, BENCH_SCALE=${SCALE}, load average ${load()})`);
if (process.env.BENCH_ONLY !== 'b') run(manyResources(), Number.POSITIVE_INFINITY);
if (process.env.BENCH_ONLY === 'a') process.exit(0);
const hot = hotResource();
const preloaded = setUp(hot).states[0]?.live.length ?? 0;
console.log(`\n(b) setup: ${fmt(hot.setup.length)} commands preload ${fmt(preloaded)} live reservations`);
// The naive scan costs ~0.5 ms per availability check at 100k live reservations: 2,000 decisions give a
// stable rate in about a second, from the same starting state as the tree's run.
const after = run(hot, Math.round(2_000 * Math.max(SCALE, 0.5))).store.get('hot');
console.log(`  live reservations after the timed run: ${fmt(after.live.size)}`);
console.log(`\nload average at the end: ${load()}`);
