/**
 * A Kafka broker of a test's own: the same jars and settings as the stack's broker (ops/services/kafka.sh),
 * its own data directory and free loopback ports. Tests that restart or kill -9 the broker use one, so the
 * suites sharing the stack's broker never see it go away.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from './free-port.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HOME = process.env.SLOTSTREAM_HOME ?? join(ROOT, '.slotstream');
const KAFKA_VERSION = process.env.KAFKA_VERSION ?? '4.1.2';
const LOG4J = join(ROOT, 'ops/kafka/log4j2.yaml');

/** How a broker goes down: a controlled shutdown (SIGTERM) or a crash (SIGKILL). */
export type StopMode = 'graceful' | 'kill';

/**
 * The stack broker's settings (written by ops/services/kafka.sh) with this broker's ports and data
 * directory, so both brokers behave alike.
 */
function serverProperties(dataDir: string, port: number, controllerPort: number): string {
  const stackConfig = join(HOME, 'data', 'kafka', 'server.properties');
  if (!existsSync(stackConfig)) {
    throw new Error(`no ${stackConfig}: run 'bash ops/stack.sh install kafka' first`);
  }
  const own: Record<string, string> = {
    'controller.quorum.bootstrap.servers': `127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'log.dirs': join(dataDir, 'logs'),
  };
  const lines = readFileSync(stackConfig, 'utf8')
    .split('\n')
    .map((line) => {
      const key = line.split('=', 1)[0]?.trim() ?? '';
      return key in own ? `${key}=${own[key]}` : line;
    });
  return `${lines.join('\n')}\n`;
}

/** A single-node KRaft broker on free loopback ports; `stop`/`start` keep its data. */
export class PrivateBroker {
  private process: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly dataDir: string,
    private readonly config: string,
    readonly logFile: string,
  ) {}

  /** `host:port` for KAFKA_BROKERS. */
  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The broker's process id while it runs. */
  get pid(): number | undefined {
    return this.running ? this.process?.pid : undefined;
  }

  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Formats a fresh data directory and starts the broker; resolves when it answers metadata requests. */
  static async create(name: string): Promise<PrivateBroker> {
    const kafkaDir = join(HOME, 'bin', `kafka-${KAFKA_VERSION}`);
    if (!existsSync(join(kafkaDir, '.complete'))) {
      throw new Error(`no Kafka jars at ${kafkaDir}: run 'bash ops/stack.sh install kafka' first`);
    }
    const dataDir = join(HOME, 'data', 'private-brokers', name);
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(join(dataDir, 'logs'), { recursive: true });
    mkdirSync(join(HOME, 'logs'), { recursive: true });
    const [port, controllerPort] = [await freePort(), await freePort()];
    const config = join(dataDir, 'server.properties');
    writeFileSync(config, serverProperties(dataDir, port, controllerPort));
    const classpath = `${join(kafkaDir, 'lib')}/*`;
    await promisify(execFile)(
      'java',
      [
        `-Dlog4j2.configurationFile=${LOG4J}`,
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        // A cluster id: 16 random bytes, base64url; one starting with '-' would read as an option.
        randomBytes(16).toString('base64url').replace(/^-/, 'A'),
        '-c',
        config,
        '--standalone',
      ],
      { timeout: 60_000 },
    );
    const broker = new PrivateBroker(name, port, dataDir, config, join(HOME, 'logs', `broker-${name}.log`));
    await broker.start();
    return broker;
  }

  /** Starts the broker on its data directory (after a stop) and waits until it answers. */
  async start(timeoutMs = 90_000): Promise<void> {
    if (this.running) return;
    const kafkaDir = join(HOME, 'bin', `kafka-${KAFKA_VERSION}`);
    const log = openSync(this.logFile, 'a');
    try {
      this.process = spawn(
        'java',
        [
          '-Xms128m',
          '-Xmx512m',
          '-XX:+UseG1GC',
          '-XX:TieredStopAtLevel=1',
          '-Djava.awt.headless=true',
          `-Dlog4j2.configurationFile=${LOG4J}`,
          '-cp',
          `${join(kafkaDir, 'lib')}/*`,
          'kafka.Kafka',
          this.config,
        ],
        { stdio: ['ignore', log, log], detached: false },
      );
    } finally {
      closeSync(log);
    }
    const child = this.process;
    this.exited = once(child, 'exit');
    await this.waitReady(timeoutMs);
  }

  /** Stops the broker: a controlled shutdown, or kill -9. Resolves when the process is gone. */
  async stop(mode: StopMode, timeoutMs = 60_000): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    child.kill(mode === 'kill' ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops (gracefully or by kill -9), waits `downMs`, starts again on the same data. */
  async restart(mode: StopMode, downMs = 0): Promise<void> {
    await this.stop(mode);
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  /** Kills the broker and deletes its data. */
  async destroy(): Promise<void> {
    await this.stop('kill');
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const kafka = new Kafka({
      clientId: `private-broker-probe-${this.name}`,
      brokers: [this.bootstrap],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      retry: { retries: 0 },
    });
    for (;;) {
      if (!this.running)
        throw new Error(`broker ${this.name} exited before it was ready; see ${this.logFile}`);
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length > 0 && cluster.controller !== null) return;
      } catch {
        // not up yet
      } finally {
        await admin.disconnect().catch(() => {});
      }
      if (Date.now() > deadline) {
        throw new Error(`broker ${this.name} not ready after ${timeoutMs} ms; see ${this.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
