/** `npm run schemas:register`: sets BACKWARD on every owned subject and registers the local schemas. */
import { loadConfig } from '../common/config.ts';
import { SchemaIncompatibleError } from '../common/errors.ts';
import { subjectsFor } from './owned-subjects.ts';
import { registerSchema } from './registry-admin.ts';

const config = loadConfig();
let failed = 0;
for (const owned of subjectsFor(config)) {
  try {
    const id = await registerSchema(config.registry.url, owned.subject, owned.schema);
    console.log(`registered ${owned.subject} (id ${id})`);
  } catch (error) {
    failed += 1;
    const reason =
      error instanceof SchemaIncompatibleError ? error.reasons.join('; ') : (error as Error).message;
    console.error(`REFUSED ${owned.subject}: ${reason}`);
  }
}
if (failed > 0) {
  console.error(`${failed} schema(s) refused by the registry`);
  process.exit(1);
}
