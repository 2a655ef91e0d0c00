/**
 * Finds the services for the integration tier. STACK_MODE chooses how:
 * - `local` (default): the stack started by the project's scripts (`npm start` or `ops/stack.sh up`);
 *   every service is probed first so a missing one fails loudly here, not as a timeout in some test.
 * - `testcontainers`: starts docker-compose.yml through testcontainers (needs a Docker engine; the same
 *   loopback ports, so tests need no other setting). Our CI machines have no Docker engine: this path is
 *   written for developer machines that do and is not exercised in CI.
 */
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../common/config.ts';

const MODES = ['local', 'testcontainers'] as const;

async function probe(name: string, check: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await check();
    return undefined;
  } catch (error) {
    return `${name}: ${(error as Error).message}`;
  }
}

async function http(url: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
}

async function tcp(host: string, port: number): Promise<void> {
  const net = await import('node:net');
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: 3_000 }, () => {
      socket.end();
      resolve();
    });
    socket.on('error', reject);
    socket.on('timeout', () => reject(new Error(`connect to ${host}:${port} timed out`)));
  });
}

async function checkLocalStack(): Promise<void> {
  const config = loadConfig();
  const [kafkaHost = '127.0.0.1', kafkaPort = '9092'] = (config.kafka.brokers[0] ?? '').split(':');
  const failures = (
    await Promise.all([
      probe('kafka', () => tcp(kafkaHost, Number(kafkaPort))),
      probe('registry', () => http(`${config.registry.url}/subjects`)),
      probe('postgres', () =>
        tcp(new URL(config.postgres.url).hostname, Number(new URL(config.postgres.url).port)),
      ),
      probe('clickhouse', () => http(`${config.clickhouse.url}/ping`)),
      probe('stripe-mock', () =>
        tcp(new URL(config.stripe.url).hostname, Number(new URL(config.stripe.url).port)),
      ),
      probe('mailpit', () => http(`${config.mailpit.url}/api/v1/info`)),
    ])
  ).filter((f): f is string => f !== undefined);
  if (failures.length > 0) {
    throw new Error(
      `the integration tests need the local stack; not reachable:\n  ${failures.join('\n  ')}\n` +
        'start it with `npm start` (or `bash ops/stack.sh up`), or set STACK_MODE=testcontainers on a machine with Docker',
    );
  }
}

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const mode = process.env.STACK_MODE ?? 'local';
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new Error(`STACK_MODE: expected one of ${MODES.join(', ')}, got '${mode}'`);
  }
  if (mode === 'local') {
    // SKIP_STACK_CHECK=1 runs a single file while part of the stack is down (that file may then fail).
    if (process.env.SKIP_STACK_CHECK !== '1') await checkLocalStack();
    return undefined;
  }
  const { DockerComposeEnvironment, Wait } = await import('testcontainers');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const environment = await new DockerComposeEnvironment(root, 'docker-compose.yml')
    .withWaitStrategy('postgres-1', Wait.forHealthCheck())
    .up();
  await checkLocalStack();
  return async () => {
    await environment.down();
  };
}
