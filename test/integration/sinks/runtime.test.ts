/**
 * The sink runtime against the real broker and registry, with test sinks (no database): per-partition
 * pause, lifecycle, metrics over HTTP, and the entry point as its own process (SIGTERM drains).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../common/config.ts';
import { SinkUnavailableError } from '../../../sinks/runtime/errors.ts';
import type { Sink, SinkEvent, SinkState } from '../../../sinks/runtime/types.ts';
import { eventually, testConfig } from '../../helpers.ts';
import { generateStream } from '../../support/events.ts';
import { freePort } from '../../support/free-port.ts';
import { createTestTopics, deleteTestTopics, EventWriter } from '../../support/kafka.ts';
import { createTestDatabase } from '../../support/postgres.ts';
import { caughtUp, startTestWorker } from '../../support/sinks.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function topics(): Promise<{ config: Config; kafka: Kafka; writer: EventWriter }> {
  const config = testConfig({ TOPIC_PARTITIONS: '3' });
  const kafka = await createTestTopics(config);
  const writer = new EventWriter(kafka, config);
  cleanups.push(async () => {
    await writer.close();
    await deleteTestTopics(kafka, config);
  });
  return { config, kafka, writer };
}

/** A sink that keeps what it is given; `failing(partition)` makes batches with that partition's events fail. */
function memorySink(failing: (partition: number) => boolean = () => false) {
  const seen = new Map<number, SinkEvent[]>();
  const sink: Sink = {
    name: 'postgres',
    async handleBatch(events) {
      if (events.some((e) => failing(e.record.partition)))
        throw new SinkUnavailableError('memory', 'not now');
      for (const e of events) seen.set(e.record.partition, [...(seen.get(e.record.partition) ?? []), e]);
    },
  };
  return { sink, seen };
}

describe('sink runtime', () => {
  it('pauses only the partition that keeps failing; the others move on; it resumes once the error clears', async () => {
    const { config, writer } = await topics();
    const stream = generateStream({ resources: 12, reservations: 120, seed: 12 });
    let blocked = true;
    const { sink, seen } = memorySink((partition) => blocked && partition === 0);
    const worker = await startTestWorker(config, sink, { initialRetryMs: 50, maxRetryMs: 300 });
    cleanups.push(() => worker.stop());
    await writer.write(stream.events, 100);
    // Partitions 1 and 2 catch up while 0 stays behind, paused between retries.
    await eventually(
      async () => {
        const lag = await worker.lag();
        return lag.get(1) === 0 && lag.get(2) === 0 && (lag.get(0) ?? 0) > 0 ? true : undefined;
      },
      { what: 'partitions 1 and 2 to catch up while 0 waits' },
    );
    expect(seen.get(0)).toBeUndefined();
    const retries = (await worker.metrics.retries.get()).values.reduce((s, v) => s + v.value, 0);
    expect(retries).toBeGreaterThan(0);
    blocked = false;
    await caughtUp(worker);
    const total = [...seen.values()].reduce((n, events) => n + events.length, 0);
    expect(total).toBe(stream.events.length);
    // Each partition's events arrived in offset order.
    for (const events of seen.values()) {
      const offsets = events.map((e) => Number(e.record.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }
    await worker.stop();
  });

  it('walks its lifecycle and serves /metrics and /healthz', async () => {
    const { config, writer } = await topics();
    const stream = generateStream({ resources: 3, reservations: 30, seed: 13 });
    const { sink } = memorySink();
    const states: SinkState[] = [];
    const worker = await startTestWorker(config, sink, { metricsPort: 0 });
    cleanups.push(() => worker.stop());
    worker.onStateChange((s) => states.push(s));
    expect(worker.state).toBe('running');
    await writer.write(stream.events);
    await caughtUp(worker);
    const base = `http://127.0.0.1:${worker.metricsPort}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ state: 'running' });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain(
      `slotstream_sink_events_total{outcome="applied",sink="postgres"} ${stream.events.length}`,
    );
    expect(text).toMatch(/slotstream_sink_consumer_lag\{topic="[^"]+",partition="0",sink="postgres"\} 0/);
    expect(text).toContain('slotstream_sink_events_per_second');
    expect(text).toContain('slotstream_sink_state{state="running",sink="postgres"} 1');
    await worker.stop();
    expect(states).toEqual(['draining', 'stopped']);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('runs as its own process (sinks/run.ts) and drains on SIGTERM', async () => {
    const { config, writer } = await topics();
    const db = await createTestDatabase('sink-run');
    cleanups.push(() => db.drop());
    const port = await freePort();
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'sinks/run.ts', 'postgres'], {
      cwd: root,
      env: {
        ...process.env,
        TOPIC_PREFIX: config.kafka.topicPrefix,
        TOPIC_PARTITIONS: '3',
        DATABASE_URL: db.url,
        SINK_METRICS_PORT: String(port),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await eventually(async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the sink process to be running',
    });
    const stream = generateStream({ resources: 3, reservations: 40, seed: 14 });
    await writer.write(stream.events);
    await eventually(
      async () => {
        const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM reservations');
        return Number(row?.n) === stream.reservations.size ? true : undefined;
      },
      { what: 'the read model to fill' },
    );
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
  });
});
