/** The process logger: JSON lines with pino, one child per component. */
import { type Logger, pino } from 'pino';
import type { Config } from './config.ts';

export function createLogger(config: Pick<Config, 'logLevel'>, name: string): Logger {
  return pino({ name, level: config.logLevel, base: { service: name, pid: process.pid } });
}
