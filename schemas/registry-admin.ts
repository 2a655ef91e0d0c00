/**
 * Registry administration for the subjects we own: set BACKWARD compatibility explicitly (Apicurio's
 * default is NONE, and its GET /config/{subject} answers NONE rather than 404), register, and check a
 * local schema against what is registered. Plain HTTP against the Confluent-compatible API.
 */
import { RegistryUnavailableError, SchemaIncompatibleError } from '../common/errors.ts';
import { type RecordSchema, subjectName } from './serde.ts';

const JSON_TYPE = 'application/vnd.schemaregistry.v1+json';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

/** One subject we own: the topic, the record's full name and the local (source of truth) schema. */
export interface OwnedSubject {
  readonly subject: string;
  readonly topic: string;
  readonly recordName: string;
  readonly schema: string;
}

export function ownedSubjects(topics: Readonly<Record<string, readonly RecordSchema[]>>): OwnedSubject[] {
  return Object.entries(topics).flatMap(([topic, schemas]) =>
    schemas.map((schema) => {
      const recordName = fullName(schema);
      return { subject: subjectName(topic, recordName), topic, recordName, schema: JSON.stringify(schema) };
    }),
  );
}

/** The fully qualified name of a record schema (`namespace.name`, unless the name is already qualified). */
export function fullName(schema: RecordSchema): string {
  return schema.name.includes('.') || !schema.namespace ? schema.name : `${schema.namespace}.${schema.name}`;
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      headers: { 'content-type': JSON_TYPE, accept: JSON_TYPE, ...init.headers },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new RegistryUnavailableError(`cannot reach the schema registry at ${url}`, error);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  if (res.status >= 500)
    throw new RegistryUnavailableError(`${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return { status: res.status, body };
}

function subjectUrl(registryUrl: string, subject: string): string {
  return `${registryUrl}/subjects/${encodeURIComponent(subject)}`;
}

export async function setCompatibility(
  registryUrl: string,
  subject: string,
  level: Compatibility,
): Promise<void> {
  const { status, body } = await call(`${registryUrl}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    body: JSON.stringify({ compatibility: level }),
  });
  if (status !== 200)
    throw new Error(`setting ${level} on ${subject} failed: ${status} ${JSON.stringify(body)}`);
}

/**
 * Registers a schema under a subject with BACKWARD compatibility; returns its id. The registry refuses an
 * incompatible schema with 409, which becomes SchemaIncompatibleError.
 */
export async function registerSchema(registryUrl: string, subject: string, schema: string): Promise<number> {
  await setCompatibility(registryUrl, subject, 'BACKWARD');
  const { status, body } = await call(`${subjectUrl(registryUrl, subject)}/versions`, {
    method: 'POST',
    body: JSON.stringify({ schema }),
  });
  if (status === 409) throw new SchemaIncompatibleError(subject, [describe(body)]);
  if (status !== 200) throw new Error(`registering ${subject} failed: ${status} ${describe(body)}`);
  return (body as { id: number }).id;
}

/** The id under which `schema` is registered in `subject`, or undefined if it is not. */
export async function lookupSchemaId(
  registryUrl: string,
  subject: string,
  schema: string,
): Promise<number | undefined> {
  const { status, body } = await call(subjectUrl(registryUrl, subject), {
    method: 'POST',
    body: JSON.stringify({ schema }),
  });
  if (status === 404) return undefined;
  if (status !== 200) throw new Error(`looking up ${subject} failed: ${status} ${describe(body)}`);
  return (body as { id: number }).id;
}

export interface CompatibilityResult {
  readonly subject: string;
  /** `new` when nothing is registered under the subject yet. */
  readonly verdict: 'compatible' | 'incompatible' | 'new';
  readonly reasons: readonly string[];
}

/** Checks a local schema against the latest registered version of its subject, under BACKWARD rules. */
export async function checkCompatibility(
  registryUrl: string,
  subject: string,
  schema: string,
): Promise<CompatibilityResult> {
  const latest = await call(`${subjectUrl(registryUrl, subject)}/versions/latest`);
  if (latest.status === 404) return { subject, verdict: 'new', reasons: [] };
  const { status, body } = await call(
    `${registryUrl}/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
    { method: 'POST', body: JSON.stringify({ schema }) },
  );
  if (status !== 200) {
    return { subject, verdict: 'incompatible', reasons: [`registry answered ${status}: ${describe(body)}`] };
  }
  const result = body as { is_compatible: boolean; messages?: string[] };
  return {
    subject,
    verdict: result.is_compatible ? 'compatible' : 'incompatible',
    reasons: result.is_compatible ? [] : (result.messages ?? ['the registry gave no reason']),
  };
}

function describe(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body)
    return String((body as { message: unknown }).message);
  return typeof body === 'string' ? body : JSON.stringify(body);
}
