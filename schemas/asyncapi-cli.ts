/**
 * Writes docs/asyncapi.json from the code's sources of truth: `npm run asyncapi`. The file is then formatted
 * with biome, as `npm run lint` wants every JSON file; the drift test compares it as JSON, not as text.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { asyncApiPath, renderAsyncApi } from './asyncapi.ts';

writeFileSync(asyncApiPath, renderAsyncApi());
const biome = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));
execFileSync(biome, ['format', '--write', asyncApiPath], { stdio: 'inherit' });
process.stdout.write(`wrote ${asyncApiPath}\n`);
