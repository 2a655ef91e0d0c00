/**
 * Applies the API's migrations (api/migrations/*.sql) with node-pg-migrate, recording them in a table of
 * their own (`api_migrations`) and under an advisory lock of their own, so they run beside the read
 * model's migrations without colliding. `npm run api:migrate` runs it from the command line.
 */
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';
import { loadConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';

export const API_MIGRATIONS_TABLE = 'api_migrations';
/** Advisory lock of the API's migrations: distinct from node-pg-migrate's default used by other sets. */
const API_MIGRATIONS_LOCK = 7_344_221_001;
const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** Brings the API's tables up to date; returns the names of the migrations applied now. */
export async function runApiMigrations(databaseUrl: string, logger?: Logger): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    migrationsTable: API_MIGRATIONS_TABLE,
    direction: 'up',
    lockValue: API_MIGRATIONS_LOCK,
    advisoryLockMode: 'wait',
    checkOrder: true,
    singleTransaction: true,
    log: (message: string) => logger?.debug({ component: 'migrations' }, message),
  });
  return applied.map((m) => m.name);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  const logger = createLogger(config, 'api-migrate');
  runApiMigrations(config.postgres.url, logger)
    .then((names) => {
      logger.info({ applied: names }, names.length ? 'API migrations applied' : 'API tables are up to date');
    })
    .catch((error: unknown) => {
      logger.fatal({ err: error }, 'API migrations failed');
      process.exitCode = 1;
    });
}
