/**
 * `npm run schemas:check`: checks every local schema against what is registered under its subject with
 * BACKWARD rules; fails naming each incompatible subject and the registry's reason. New subjects pass.
 */
import { loadConfig } from '../common/config.ts';
import { subjectsFor } from './owned-subjects.ts';
import { checkCompatibility } from './registry-admin.ts';

const config = loadConfig();
const results = await Promise.all(
  subjectsFor(config).map((owned) => checkCompatibility(config.registry.url, owned.subject, owned.schema)),
);
for (const result of results) {
  const line = `${result.verdict.padEnd(12)} ${result.subject}`;
  if (result.verdict === 'incompatible') console.error(`${line}\n  ${result.reasons.join('\n  ')}`);
  else console.log(line);
}
const incompatible = results.filter((r) => r.verdict === 'incompatible');
if (incompatible.length > 0) {
  console.error(`${incompatible.length} schema(s) are not BACKWARD compatible with the registry`);
  process.exit(1);
}
