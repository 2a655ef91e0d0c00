/**
 * Creates, lists and revokes API keys. The secret is printed once, at creation; only its digest is stored.
 *
 *   npm run api:keys -- create --role admin --name ops
 *   npm run api:keys -- create --role customer --customer cust-42 --name "web app for cust-42"
 *   npm run api:keys -- create --role producer --name partner-feed [--secret-only]
 *   npm run api:keys -- list
 *   npm run api:keys -- revoke <key id>
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../common/config.ts';
import { ROLES, type Role } from './config.ts';
import { runApiMigrations } from './migrate.ts';
import { ApiKeyStore } from './services/api-keys.ts';

const USAGE = `usage:
  api:keys create --role customer|producer|admin --name NAME [--customer CUSTOMER_ID] [--secret-only]
  api:keys list
  api:keys revoke KEY_ID`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      name: { type: 'string' },
      customer: { type: 'string' },
      'secret-only': { type: 'boolean', default: false },
    },
  });
  const [command, arg] = positionals;
  const config = loadConfig();
  await runApiMigrations(config.postgres.url);
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 1 });
  const store = new ApiKeyStore(pool, { cacheTtlMs: 0 });
  try {
    switch (command) {
      case 'create': {
        const role = values.role as Role | undefined;
        if (!role || !(ROLES as readonly string[]).includes(role)) {
          process.stderr.write(`--role must be one of ${ROLES.join(', ')}\n${USAGE}\n`);
          return 2;
        }
        if (role === 'customer' && !values.customer) {
          process.stderr.write('a customer key needs --customer CUSTOMER_ID\n');
          return 2;
        }
        const { secret, key } = await store.create({
          role,
          name: values.name ?? `${role} key`,
          customerId: role === 'customer' ? (values.customer ?? null) : null,
        });
        if (values['secret-only']) process.stdout.write(`${secret}\n`);
        else {
          process.stdout.write(
            `created ${key.role} key ${key.keyId} (${key.name}${key.customerId ? `, customer ${key.customerId}` : ''})\n` +
              `secret (shown once, store it now): ${secret}\n` +
              `use it as: Authorization: Bearer ${secret}\n`,
          );
        }
        return 0;
      }
      case 'list': {
        for (const key of await store.list()) {
          process.stdout.write(
            `${key.keyId}  ${key.prefix}…  ${key.role.padEnd(8)}  ${key.customerId ?? '-'}  ${key.name}  ` +
              `${key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active'}\n`,
          );
        }
        return 0;
      }
      case 'revoke': {
        if (!arg) {
          process.stderr.write(`${USAGE}\n`);
          return 2;
        }
        const revoked = await store.revoke(arg);
        process.stdout.write(revoked ? `revoked ${arg}\n` : `no active key ${arg}\n`);
        return revoked ? 0 : 1;
      }
      default:
        process.stderr.write(`${USAGE}\n`);
        return 2;
    }
  } finally {
    await pool.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`api:keys failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
