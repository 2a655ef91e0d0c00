/**
 * `npm run bench:api`: POST /reservations throughput and latency on loopback, against the real API (a
 * child process: validation, API key, command built, Avro-encoded and acknowledged by Kafka with acks=all)
 * and, in the same run, a bare fastify route answering 202 without producing (another child process), so
 * the ratio shows what validation and producing cost on this machine.
 *
 * Runs, each after a warm-up: both servers at full speed (autocannon, closed loop), then both at a fixed
 * rate (default 3,000/s) for latency percentiles. The Kafka offsets of the commands topic are read before
 * and after, so "produced" is counted by the broker, not by the client.
 *
 *   npm run bench:api [-- --duration 10 --connections 128 --rate 3000 --warmup 3]
 *
 * Loopback only: both servers listen on 127.0.0.1 and every run is bounded in time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { runApiMigrations } from '../api/migrate.ts';
import { ApiKeyStore } from '../api/services/api-keys.ts';
import { loadConfig } from '../common/config.ts';
import { createKafka } from '../common/kafka.ts';
import { createLogger } from '../common/logger.ts';
import { ensureTopics, topicNames, topicSpecs } from '../common/topics.ts';
import { MessageCodec } from '../schemas/codec.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOPIC_PREFIX = 'bench.';
const DATABASE = 'slotstream_bench';

/** The bare baseline: parse the JSON body, answer 202. Started as `bench/api.ts --baseline-server PORT`. */
async function baselineServer(port: number): Promise<void> {
  const app = Fastify({ logger: false });
  app.post('/reservations', async (_request, reply) => reply.code(202).send({ status: 'Accepted' }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.listen({ host: '127.0.0.1', port });
  process.stdout.write(`READY ${port}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function spawnTsx(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.on('data', () => {}); // the API logs JSON lines at warn; keep the pipe drained
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

interface RunResult {
  readonly label: string;
  readonly requestsPerSecond: number;
  readonly total: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Request bodies over many resources, so the commands spread over every partition. */
function bodies(count: number): string[] {
  const start = Date.parse('2027-03-01T10:00:00Z');
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      resourceId: `bench-room-${i % 500}`,
      start: new Date(start + (i % 48) * 3_600_000).toISOString(),
      end: new Date(start + ((i % 48) + 2) * 3_600_000).toISOString(),
      quantity: 1 + (i % 3),
      customer: { id: `bench-customer-${i}`, fullName: `Customer ${i}`, email: `c${i}@example.com` },
    }),
  );
}

async function run(
  label: string,
  url: string,
  secret: string,
  options: { duration: number; connections: number; rate?: number },
): Promise<RunResult> {
  const pool = bodies(4_096);
  let n = 0;
  const result = await autocannon({
    url: `${url}/reservations`,
    connections: options.connections,
    duration: options.duration,
    ...(options.rate ? { overallRate: options.rate } : {}),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        setupRequest: (request) => ({ ...request, body: pool[n++ % pool.length] as string }),
      },
    ],
  });
  return {
    label,
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
  };
}

async function commandOffsets(config: ReturnType<typeof loadConfig>): Promise<number> {
  const admin = createKafka(config, createLogger(config, 'bench-api')).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topicNames(config.kafka.topicPrefix).commands);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '128' },
      rate: { type: 'string', default: '3000' },
      'baseline-server': { type: 'string' },
    },
  });
  if (values['baseline-server']) return baselineServer(Number(values['baseline-server']));
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  const rate = Number(values.rate);
  if (![duration, warmup, connections, rate].every((v) => Number.isInteger(v) && v > 0) || duration > 120) {
    throw new Error('--duration (≤ 120 s), --warmup, --connections and --rate must be positive integers');
  }

  // The bench's own topics (fixed prefix, reused) and database.
  const base = loadConfig();
  const dbUrl = new URL(base.postgres.url);
  dbUrl.pathname = `/${DATABASE}`;
  const env = { TOPIC_PREFIX, DATABASE_URL: dbUrl.toString(), LOG_LEVEL: 'warn' };
  const config = loadConfig({ ...process.env, ...env });
  const logger = createLogger({ logLevel: 'warn' }, 'bench-api');
  const admin = new pg.Client({ connectionString: base.postgres.url });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();
  await runApiMigrations(config.postgres.url, logger);
  const kafkaAdmin = createKafka(config, logger).admin();
  await kafkaAdmin.connect();
  await ensureTopics(kafkaAdmin, topicSpecs(config));
  await kafkaAdmin.disconnect();
  await MessageCodec.fromConfig(config, { autoRegister: true }).warmUp();
  const keyPool = new pg.Pool({ connectionString: config.postgres.url, max: 1 });
  const { secret, key } = await new ApiKeyStore(keyPool, { cacheTtlMs: 0 }).create({
    role: 'producer',
    name: `bench ${randomUUID()}`,
  });

  const apiPort = await freePort();
  const baselinePort = await freePort();
  const api = spawnTsx(['api/server.ts'], {
    ...env,
    API_PORT: String(apiPort),
    API_HOST: '127.0.0.1',
    API_RATE_LIMIT_PRODUCER: '100000000',
  });
  const baseline = spawnTsx(['bench/api.ts', '--baseline-server', String(baselinePort)], {});
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const baselineUrl = `http://127.0.0.1:${baselinePort}`;
  const results: RunResult[] = [];
  try {
    await Promise.all([
      waitForHealth(`${apiUrl}/healthz`, api),
      waitForHealth(`${baselineUrl}/healthz`, baseline),
    ]);
    process.stderr.write(
      `API at ${apiUrl}, baseline at ${baselineUrl}; ${connections} connections, ${duration} s per run\n`,
    );

    const before = await commandOffsets(config);
    for (const [label, url] of [
      ['baseline: bare fastify 202', baselineUrl],
      ['API: validated + produced (acks=all)', apiUrl],
    ] as const) {
      await run('warm-up', url, secret, { duration: warmup, connections });
      results.push(await run(`${label}, max`, url, secret, { duration, connections }));
      results.push(await run(`${label}, ${rate}/s`, url, secret, { duration, connections, rate }));
    }
    const after = await commandOffsets(config);

    const apiRuns = results.filter((r) => r.label.startsWith('API'));
    const warmupOk = after - before - apiRuns.reduce((s, r) => s + r.ok, 0);
    const pad = (s: string | number, n: number) => String(s).padStart(n);
    process.stdout.write(
      `\n${'run'.padEnd(50)}${pad('req/s', 9)}${pad('2xx', 9)}${pad('non2xx', 8)}${pad('errors', 8)}${pad('p50 ms', 8)}${pad('p90 ms', 8)}${pad('p99 ms', 8)}${pad('max ms', 8)}\n`,
    );
    for (const r of results) {
      process.stdout.write(
        `${r.label.padEnd(50)}${pad(Math.round(r.requestsPerSecond), 9)}${pad(r.ok, 9)}${pad(r.non2xx, 8)}${pad(r.errors, 8)}${pad(r.p50, 8)}${pad(r.p90, 8)}${pad(r.p99, 8)}${pad(r.max, 8)}\n`,
      );
    }
    const [baseMax, , apiMax, apiRate] = results;
    if (baseMax && apiMax && apiRate) {
      process.stdout.write(
        `\nAPI / baseline throughput: ${(apiMax.requestsPerSecond / baseMax.requestsPerSecond).toFixed(3)} ` +
          `(${Math.round(apiMax.requestsPerSecond)} vs ${Math.round(baseMax.requestsPerSecond)} req/s)\n` +
          `API at ${rate}/s: p50 ${apiRate.p50} ms, p99 ${apiRate.p99} ms\n` +
          `Kafka commands topic grew by ${after - before} records ` +
          `(API 2xx in measured runs: ${apiRuns.reduce((s, r) => s + r.ok, 0)}, in warm-up: ${warmupOk})\n`,
      );
    }
  } finally {
    await Promise.all([stop(api), stop(baseline)]);
    // The bench's key is for this run only.
    await keyPool.query('DELETE FROM api_keys WHERE id = $1', [key.keyId]).catch(() => {});
    await keyPool.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:api failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
