/**
 * The world of one chaos run, beside the shared stack and touching nothing of anyone else's: a Kafka broker
 * of its own (test/support/private-broker.ts), topics under a unique TOPIC_PREFIX, their schemas registered
 * in the shared registry, a PostgreSQL database and a ClickHouse database of its own (migrated with the
 * project's own migration commands), API keys, the resources to book, and every worker as its own process
 * (worker-process.ts) pointed at all of it. `destroy()` undoes what `setup()` did, whatever step failed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { type Logger, pino } from 'pino';
import { ApiKeyStore } from '../../api/services/api-keys.ts';
import { type Config, loadConfig } from '../../common/config.ts';
import { createKafka } from '../../common/kafka.ts';
import { ensureTopics, type TopicNames, topicNames, topicSpecs } from '../../common/topics.ts';
import { subjectsFor } from '../../schemas/owned-subjects.ts';
import { registerSchema } from '../../schemas/registry-admin.ts';
import { createClickHouseClient } from '../../sinks/clickhouse/client.ts';
import { freePort } from '../support/free-port.ts';
import { PrivateBroker } from '../support/private-broker.ts';
import type { ChaosOptions } from './options.ts';
import { OrphanGuard } from './orphan-guard.ts';
import { WorkerProcess } from './worker-process.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
const HOME = process.env.SLOTSTREAM_HOME ?? join(ROOT, '.slotstream');

/** The workers of ops/workers.sh, in its start order (the decider first, the API last). */
export const WORKER_NAMES = [
  'processor',
  'sink-postgres',
  'sink-clickhouse',
  'sink-payment',
  'sink-notification',
  'api',
] as const;
export type WorkerName = (typeof WORKER_NAMES)[number];

/** Each worker's command after `node --import tsx`, as in ops/workers.sh. */
const ENTRY_POINTS: Readonly<Record<WorkerName, readonly string[]>> = {
  processor: ['processors/run.ts'],
  'sink-postgres': ['sinks/run.ts', 'postgres'],
  'sink-clickhouse': ['sinks/run.ts', 'clickhouse'],
  'sink-payment': ['sinks/run.ts', 'payment'],
  'sink-notification': ['sinks/run.ts', 'notification'],
  api: ['api/server.ts'],
};

/** A resource of the run, as created through the API. */
export interface ChaosResource {
  readonly id: string;
  readonly capacity: number;
  readonly unitPriceMinor: number;
  /** null: the decider's default (15 minutes). */
  readonly holdTimeoutMs: number | null;
}

/** The parent's environment without the test runner's own variables. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key];
  if (env.NODE_ENV === 'test') delete env.NODE_ENV;
  delete env.NODE_OPTIONS;
  return env;
}

export class ChaosEnvironment {
  readonly runId = `chaos-${randomBytes(4).toString('hex')}`;
  readonly prefix = `${this.runId}.`;
  /** Every customer of the run has an address at this domain: how its mail is found in Mailpit. */
  readonly mailDomain = `${this.runId}.chaos.test`;
  readonly logDir = join(HOME, 'logs', 'chaos', this.runId);
  readonly databaseName = this.runId.replace(/-/g, '_');
  readonly clickhouseDatabase = this.runId.replace(/-/g, '_');
  readonly topics: TopicNames = topicNames(this.prefix);
  readonly workers = new Map<WorkerName, WorkerProcess>();
  readonly resources: ChaosResource[] = [];
  /** Shared-stack settings (registry, PostgreSQL server, ClickHouse, Mailpit), before the run's overrides. */
  readonly stack: Config = loadConfig();
  readonly logger: Logger;
  broker: PrivateBroker | undefined;
  /** The run's configuration: the private broker, the prefix, the run's databases. */
  config!: Config;
  kafka!: Kafka;
  databaseUrl = '';
  apiUrl = '';
  keys = { admin: '', producer: '' };
  private workerEnv: NodeJS.ProcessEnv = {};
  private databaseCreated = false;
  private clickhouseCreated = false;
  private guard: OrphanGuard | undefined;
  private readonly exitHandler = () => this.killNow();

  constructor(private readonly options: ChaosOptions) {
    mkdirSync(this.logDir, { recursive: true });
    this.logger = pino({ level: 'warn' }, pino.destination({ dest: join(this.logDir, 'harness.log') }));
  }

  /** Builds everything and starts every worker; throws (leaving `destroy` to clean up) on any failure. */
  async setup(): Promise<void> {
    const log = this.options.log;
    process.once('exit', this.exitHandler);
    this.guard = new OrphanGuard(join(this.logDir, 'pids'));
    const t0 = Date.now();
    this.broker = await PrivateBroker.create(this.runId);
    this.updateGuard();
    const url = new URL(this.stack.postgres.url);
    url.pathname = `/${this.databaseName}`;
    this.databaseUrl = url.toString();
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv(),
      KAFKA_BROKERS: this.broker.bootstrap,
      TOPIC_PREFIX: this.prefix,
      TOPIC_PARTITIONS: String(this.options.partitions),
      DATABASE_URL: this.databaseUrl,
      CLICKHOUSE_DATABASE: this.clickhouseDatabase,
      LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn',
      // A killed sink's partitions move after this (the default, 30 s, would stall each sink kill).
      SINK_SESSION_TIMEOUT_MS: '10000',
    };
    this.workerEnv = env;
    this.config = loadConfig(env);
    this.kafka = createKafka(this.config, this.logger, 'chaos-harness');
    log(
      `  broker ${this.broker.bootstrap} (${Date.now() - t0} ms), topics ${this.prefix}*, logs ${this.logDir}`,
    );

    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, topicSpecs(this.config));
    } finally {
      await admin.disconnect();
    }
    // As `npm run schemas:register` does, for the run's subjects.
    for (const owned of subjectsFor(this.config)) {
      await registerSchema(this.config.registry.url, owned.subject, owned.schema);
    }

    const server = new pg.Client({ connectionString: this.stack.postgres.url });
    await server.connect();
    try {
      await server.query(`CREATE DATABASE ${this.databaseName}`);
      this.databaseCreated = true;
    } finally {
      await server.end();
    }
    this.clickhouseCreated = true; // ch:migrate creates it
    // The project's own migration commands (npm run db:migrate / api:migrate / ch:migrate), pointed here.
    await Promise.all([
      this.runTool('db-migrate', ['sinks/postgres/migrate.ts']),
      this.runTool('api-migrate', ['api/migrate.ts']),
      this.runTool('ch-migrate', ['sinks/clickhouse/migrate.ts']),
    ]);
    const pool = new pg.Pool({ connectionString: this.databaseUrl, max: 1 });
    try {
      const store = new ApiKeyStore(pool, { cacheTtlMs: 0 });
      this.keys = {
        admin: (await store.create({ role: 'admin', name: 'chaos admin' })).secret,
        producer: (await store.create({ role: 'producer', name: 'chaos load' })).secret,
      };
    } finally {
      await pool.end();
    }
    log(
      `  topics, schemas, databases ${this.databaseName} (PostgreSQL, ClickHouse), keys (${Date.now() - t0} ms)`,
    );

    await this.createWorkers();
    const order: WorkerName[][] = [
      ['processor'],
      ['sink-postgres', 'sink-clickhouse', 'sink-payment', 'sink-notification'],
      ['api'],
    ];
    for (const group of order) await Promise.all(group.map((name) => this.worker(name).start()));
    log(`  workers healthy (${Date.now() - t0} ms): ${WORKER_NAMES.join(', ')}`);
    await this.createResources();
    log(`  ${this.resources.length} resources visible in the read model (${Date.now() - t0} ms)`);
  }

  worker(name: WorkerName): WorkerProcess {
    const worker = this.workers.get(name);
    if (!worker) throw new Error(`no worker ${name}`);
    return worker;
  }

  /** Waits until every worker answers /healthz (after a broker restart, a worker may be restarting). */
  async allHealthy(timeoutMs = 120_000): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.waitHealthy(timeoutMs)));
  }

  private async createWorkers(): Promise<void> {
    for (const name of WORKER_NAMES) {
      const port = await freePort();
      const env: NodeJS.ProcessEnv = { ...this.workerEnv };
      let healthUrl = `http://127.0.0.1:${port}/healthz`;
      if (name === 'processor') env.DECIDER_METRICS_PORT = String(port);
      else if (name === 'api') {
        env.API_PORT = String(port);
        this.apiUrl = `http://127.0.0.1:${port}`;
        healthUrl = `${this.apiUrl}/healthz`;
      } else env.SINK_METRICS_PORT = String(port);
      const worker = new WorkerProcess(
        {
          name,
          args: ['--import', 'tsx', ...ENTRY_POINTS[name]],
          env,
          healthUrl,
          logFile: join(this.logDir, `${name}.log`),
          cwd: ROOT,
        },
        () => this.updateGuard(),
        this.options.log,
      );
      this.workers.set(name, worker);
    }
  }

  /** Creates the resources through the API (admin key, `Prefer: wait`), then waits for the read model. */
  private async createResources(): Promise<void> {
    for (let i = 0; i < this.options.resources; i++) {
      const resource: ChaosResource = {
        id: `${this.runId}-room-${i}`,
        capacity: this.options.capacity,
        unitPriceMinor: 2_000 + 250 * i,
        holdTimeoutMs: i % 2 === 0 ? this.options.shortHoldMs : null,
      };
      const res = await fetch(`${this.apiUrl}/admin/resources`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.keys.admin}`,
          'content-type': 'application/json',
          prefer: 'wait=10',
        },
        body: JSON.stringify({
          id: resource.id,
          name: `Chaos room ${i}`,
          capacity: resource.capacity,
          unitPrice: { amountMinor: resource.unitPriceMinor, currency: 'EUR' },
          holdTimeoutMs: resource.holdTimeoutMs,
        }),
      });
      const text = await res.text();
      if (res.status !== 201 && res.status !== 202)
        throw new Error(`creating ${resource.id} answered ${res.status}: ${text}`);
      this.resources.push(resource);
    }
    const pool = new pg.Pool({ connectionString: this.databaseUrl, max: 1 });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM resources');
        if ((rows[0]?.n ?? 0) >= this.resources.length) return;
        if (Date.now() > deadline) throw new Error('the resources did not reach the read model in 60 s');
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await pool.end();
    }
  }

  /** `node --import tsx <args>` with the run's environment; rejects with its output if it fails. */
  private async runTool(name: string, args: readonly string[]): Promise<void> {
    const logFile = join(this.logDir, `${name}.log`);
    const out = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ['--import', 'tsx', ...args], {
        cwd: ROOT,
        env: this.workerEnv,
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) {
      throw new Error(`${name} exited with ${code}:\n${readFileSync(logFile, 'utf8').slice(-2_000)}`);
    }
  }

  /** Tells the orphan guard the current pids (after any start, exit or broker restart). */
  updateGuard(): void {
    this.guard?.update([this.brokerPid(), ...[...this.workers.values()].map((w) => w.pid)]);
  }

  private brokerPid(): number | undefined {
    return this.broker?.pid;
  }

  /** Kills every child at once, synchronously (process exit). */
  killNow(): void {
    for (const worker of this.workers.values()) worker.killNow();
    const pid = this.brokerPid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }

  /** Stops the workers and the broker; drops the databases unless `keep`. Never throws. */
  async destroy(): Promise<void> {
    const attempt = async (what: string, step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (error) {
        this.options.log(`  cleanup: ${what} failed: ${(error as Error).message}`);
      }
    };
    await Promise.all([...this.workers.values()].map((w) => attempt(`stopping ${w.name}`, () => w.stop())));
    if (this.broker) {
      const broker = this.broker;
      await attempt('stopping the broker', () =>
        this.options.keep ? broker.stop('graceful') : broker.destroy(),
      );
    } else {
      rmSync(join(HOME, 'data', 'private-brokers', this.runId), { recursive: true, force: true });
    }
    if (!this.options.keep) {
      if (this.databaseCreated) {
        await attempt('dropping the PostgreSQL database', async () => {
          const server = new pg.Client({ connectionString: this.stack.postgres.url });
          await server.connect();
          try {
            await server.query(`DROP DATABASE IF EXISTS ${this.databaseName} WITH (FORCE)`);
          } finally {
            await server.end();
          }
        });
      }
      if (this.clickhouseCreated) {
        await attempt('dropping the ClickHouse database', async () => {
          const client = createClickHouseClient({ url: this.stack.clickhouse.url });
          try {
            await client.command({ query: `DROP DATABASE IF EXISTS ${this.clickhouseDatabase}` });
          } finally {
            await client.close();
          }
        });
      }
    }
    this.guard?.stop();
    process.removeListener('exit', this.exitHandler);
  }
}
