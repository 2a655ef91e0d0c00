/** Test factories: every test gets names of its own so suites can share one stack. */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { type Config, loadConfig } from '../common/config.ts';

/** A name no other test uses: `${prefix}-${uuid}`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** The same, usable as an SQL identifier (letters, digits, underscores). */
export function uniqueIdentifier(prefix: string): string {
  return uniqueName(prefix).replace(/[^a-zA-Z0-9_]/g, '_');
}

/** The configuration with a topic prefix of the test's own, so it creates and reads only its topics. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, TOPIC_PREFIX: `${uniqueName('t')}.`, ...overrides });
}

export const testLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}
