import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedPath, generateTypes } from '../../../schemas/generate-types.ts';

describe('schemas/generated/types.ts', () => {
  it('is exactly what the generator produces from the .avsc files (run `npm run schemas:types`)', () => {
    expect(readFileSync(generatedPath, 'utf8')).toBe(generateTypes());
  });
});
