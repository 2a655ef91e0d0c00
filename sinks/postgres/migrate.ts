/**
 * Applies the read model's migrations (./migrations, plain SQL, node-pg-migrate) to DATABASE_URL. Run by
 * `npm run db:migrate`, which `npm start` calls; safe to run again (applied migrations are recorded in
 * `pgmigrations`, and an advisory lock keeps two runs from racing).
 */
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';
import { loadConfig } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** Runs every pending migration up; returns the names applied. */
export async function migratePostgres(url: string, logger: Logger): Promise<string[]> {
  const applied = await runner({
    databaseUrl: url,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    logger: {
      debug: (msg: string) => logger.debug(msg),
      info: (msg: string) => logger.info(msg),
      warn: (msg: string) => logger.warn(msg),
      error: (msg: string) => logger.error(msg),
    },
  });
  return applied.map((m) => m.name);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  const logger = createLogger(config, 'db-migrate');
  migratePostgres(config.postgres.url, logger).then(
    (names) => {
      logger.info({ applied: names }, names.length ? 'migrations applied' : 'read model is up to date');
    },
    (error: unknown) => {
      logger.error({ err: error }, 'migration failed');
      process.exitCode = 1;
    },
  );
}
