import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../common/config.ts';
import { SchemaIncompatibleError } from '../../../common/errors.ts';
import { checkCompatibility, registerSchema } from '../../../schemas/registry-admin.ts';
import { uniqueName } from '../../helpers.ts';

const config = loadConfig();
const url = config.registry.url;

const v1 = {
  type: 'record',
  name: 'Thing',
  namespace: 'slotstream.test',
  fields: [{ name: 'id', type: 'string' }],
};
const withDefault = {
  ...v1,
  fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }],
};
const withoutDefault = { ...v1, fields: [...v1.fields, { name: 'count', type: 'int' }] };

describe('registry compatibility (real registry, BACKWARD set explicitly per subject)', () => {
  it('accepts a compatible change (new field with a default) and refuses an incompatible one (no default)', async () => {
    const subject = uniqueName('compat');
    const first = await registerSchema(url, subject, JSON.stringify(v1));
    const second = await registerSchema(url, subject, JSON.stringify(withDefault));
    expect(second).not.toBe(first);

    const refused = await registerSchema(url, subject, JSON.stringify(withoutDefault)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(SchemaIncompatibleError);
    expect((refused as SchemaIncompatibleError).subject).toBe(subject);

    const config = await fetch(`${url}/config/${subject}`).then(
      (r) => r.json() as Promise<{ compatibilityLevel: string }>,
    );
    expect(config.compatibilityLevel).toBe('BACKWARD');
  });

  it('checks a local schema against the registered one, naming the subject and the reason', async () => {
    const subject = uniqueName('check');
    expect((await checkCompatibility(url, subject, JSON.stringify(v1))).verdict).toBe('new');
    await registerSchema(url, subject, JSON.stringify(v1));
    expect((await checkCompatibility(url, subject, JSON.stringify(withDefault))).verdict).toBe('compatible');
    const bad = await checkCompatibility(url, subject, JSON.stringify(withoutDefault));
    expect(bad.verdict).toBe('incompatible');
    expect(bad.subject).toBe(subject);
    expect(bad.reasons.length).toBeGreaterThan(0);
  });
});
