/**
 * Generates `schemas/generated/types.ts` from `schemas/avro/*.avsc`, so the Avro files stay the one
 * source of truth for the message contract. Run with `npm run schemas:types`.
 *
 * Mapping (chosen to match what avsc decodes without custom logical types):
 * - every top-level record becomes an interface with a `type` discriminant equal to its record name
 *   (unqualified, e.g. `'ReservationHeld'`); the discriminant is not on the wire, it is the record name;
 * - records in `slotstream.commands` form the `Command` union, those in `slotstream.events` the `Event` union;
 * - `long`/`int` (and `timestamp-millis`) become `number`: epoch milliseconds, exact up to 2^53;
 * - `uuid` strings stay `string`; `["null", T]` becomes `T | null` (the field is required in TypeScript);
 * - enums become string literal unions plus a `...Symbols` const array.
 * Named types shared by several files (Customer, Money, enums) are inlined in each file so every file is a
 * standalone schema; the generator checks every copy is identical.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import avro from 'avsc';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Namespace of the top-level records on the commands topic. */
export const COMMANDS_NAMESPACE = 'slotstream.commands';
/** Namespace of the top-level records on the events topic. */
export const EVENTS_NAMESPACE = 'slotstream.events';

/** Directory of the .avsc files. */
export const avroDir = fileURLToPath(new URL('./avro/', import.meta.url));
/** Path of the generated TypeScript file. */
export const generatedPath = fileURLToPath(new URL('./generated/types.ts', import.meta.url));

/** One parsed .avsc file. */
export interface SchemaFile {
  readonly file: string;
  readonly name: string;
  readonly namespace: string;
  readonly schema: JsonObject;
}

/** Reads and checks every .avsc file, sorted by record name. */
export function readSchemaFiles(dir: string = avroDir): SchemaFile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort();
  return files.map((file) => {
    const schema = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as JsonObject;
    const name = String(schema.name);
    const namespace = String(schema.namespace);
    if (schema.type !== 'record') throw new Error(`${file}: top-level type must be a record`);
    if (`${name}.avsc` !== file)
      throw new Error(`${file}: file must be named after its record (${name}.avsc)`);
    if (namespace !== COMMANDS_NAMESPACE && namespace !== EVENTS_NAMESPACE) {
      throw new Error(`${file}: namespace must be ${COMMANDS_NAMESPACE} or ${EVENTS_NAMESPACE}`);
    }
    avro.Type.forSchema(schema as never); // throws on an invalid schema
    return { file, name, namespace, schema };
  });
}

interface NamedDef {
  readonly fullName: string;
  readonly shortName: string;
  readonly schema: JsonObject;
}

function fullNameOf(schema: JsonObject, enclosingNamespace: string): string {
  const name = String(schema.name);
  if (name.includes('.')) return name;
  const ns = typeof schema.namespace === 'string' ? schema.namespace : enclosingNamespace;
  return ns ? `${ns}.${name}` : name;
}

const shortOf = (fullName: string): string => fullName.slice(fullName.lastIndexOf('.') + 1);

/** Collects every named record/enum of all files, checking shared definitions are identical. */
function collectNamed(files: SchemaFile[]): Map<string, NamedDef> {
  const named = new Map<string, NamedDef>();
  const visit = (type: Json, ns: string, file: string): void => {
    if (Array.isArray(type)) {
      for (const branch of type) visit(branch, ns, file);
      return;
    }
    if (type === null || typeof type !== 'object') return;
    if (type.type === 'array' || type.type === 'map') {
      visit(type.items ?? type.values ?? null, ns, file);
      return;
    }
    if (type.type !== 'record' && type.type !== 'enum') return;
    const fullName = fullNameOf(type, ns);
    const previous = named.get(fullName);
    if (previous && JSON.stringify(previous.schema) !== JSON.stringify(type)) {
      throw new Error(`${file}: ${fullName} differs from its definition in another file`);
    }
    const clash = [...named.values()].find(
      (d) => d.shortName === shortOf(fullName) && d.fullName !== fullName,
    );
    if (clash) throw new Error(`${file}: ${fullName} and ${clash.fullName} share a short name`);
    named.set(fullName, { fullName, shortName: shortOf(fullName), schema: type });
    const inner = fullName.slice(0, fullName.lastIndexOf('.'));
    if (type.type === 'record') {
      for (const field of type.fields as JsonObject[]) {
        if (field.name === 'type') throw new Error(`${file}: ${fullName} must not have a field named "type"`);
        visit(field.type ?? null, inner, file);
      }
    }
  };
  for (const f of files) visit(f.schema, f.namespace, f.file);
  return named;
}

function tsType(type: Json, named: Map<string, NamedDef>, ns: string): string {
  if (typeof type === 'string') {
    switch (type) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return 'number';
      case 'string':
        return 'string';
      case 'bytes':
        return 'Buffer';
      default: {
        const fullName = type.includes('.') ? type : `${ns}.${type}`;
        const def = named.get(fullName) ?? named.get(type);
        if (!def) throw new Error(`unknown type reference ${type}`);
        return def.shortName;
      }
    }
  }
  if (Array.isArray(type)) {
    // null last reads better: `string | null`.
    const branches = type.map((b) => tsType(b, named, ns));
    return [...branches.filter((b) => b !== 'null'), ...branches.filter((b) => b === 'null')].join(' | ');
  }
  if (type === null || typeof type !== 'object')
    throw new Error(`unsupported schema ${JSON.stringify(type)}`);
  switch (type.type) {
    case 'record':
    case 'enum':
      return shortOf(fullNameOf(type, ns));
    case 'array':
      return `readonly ${wrap(tsType(type.items ?? null, named, ns))}[]`;
    case 'map':
      return `Readonly<Record<string, ${tsType(type.values ?? null, named, ns)}>>`;
    case 'fixed':
      return 'Buffer';
    default:
      return tsType(type.type ?? null, named, ns);
  }
}

const wrap = (t: string): string => (t.includes(' ') ? `(${t})` : t);

function fieldDoc(field: JsonObject): string {
  const type = Array.isArray(field.type) ? field.type.find((b) => b !== 'null') : field.type;
  const logical = type && typeof type === 'object' && !Array.isArray(type) ? type.logicalType : undefined;
  const note = logical === 'timestamp-millis' ? ' (epoch ms)' : logical === 'uuid' ? ' (uuid)' : '';
  const doc = typeof field.doc === 'string' ? field.doc : '';
  return `${doc}${note}`.trim();
}

function docComment(doc: string, indent: string): string {
  return doc ? `${indent}/** ${doc.replaceAll('*/', '* /')} */\n` : '';
}

function recordInterface(def: NamedDef, named: Map<string, NamedDef>, discriminant: boolean): string {
  const ns = def.fullName.slice(0, def.fullName.lastIndexOf('.'));
  const fields = def.schema.fields as JsonObject[];
  let out = docComment(String(def.schema.doc ?? ''), '');
  out += `export interface ${def.shortName} {\n`;
  if (discriminant)
    out += `  /** Record name: the discriminant, not a field on the wire. */\n  readonly type: '${def.shortName}';\n`;
  for (const field of fields) {
    out += docComment(fieldDoc(field), '  ');
    out += `  readonly ${String(field.name)}: ${tsType(field.type ?? null, named, ns)};\n`;
  }
  return `${out}}\n`;
}

function enumType(def: NamedDef): string {
  const symbols = def.schema.symbols as string[];
  let out = docComment(String(def.schema.doc ?? ''), '');
  out += `export type ${def.shortName} = ${symbols.map((s) => `'${s}'`).join(' | ')};\n`;
  out += `/** Every symbol of ${def.shortName}, in schema order. */\n`;
  out += `export const ${def.shortName}Symbols = [${symbols.map((s) => `'${s}'`).join(', ')}] as const;\n`;
  return out;
}

/** Returns the content of `schemas/generated/types.ts` for the given .avsc directory. */
export function generateTypes(dir: string = avroDir): string {
  const files = readSchemaFiles(dir);
  const named = collectNamed(files);
  const topLevel = new Set(files.map((f) => `${f.namespace}.${f.name}`));
  const commands = files.filter((f) => f.namespace === COMMANDS_NAMESPACE).map((f) => f.name);
  const events = files.filter((f) => f.namespace === EVENTS_NAMESPACE).map((f) => f.name);

  const parts: string[] = [
    '// generated, do not edit: produced by schemas/generate-types.ts from schemas/avro/*.avsc.\n' +
      '// Regenerate with `npm run schemas:types`; test/unit/schemas/generated-types.test.ts fails on drift.\n' +
      '// Timestamps are epoch milliseconds (number); the `type` discriminant is the Avro record name.\n',
  ];
  const shared = [...named.values()].filter((d) => !topLevel.has(d.fullName));
  shared.sort((a, b) => a.shortName.localeCompare(b.shortName));
  for (const def of shared) {
    parts.push(def.schema.type === 'enum' ? enumType(def) : recordInterface(def, named, false));
  }
  for (const f of files) {
    const def = named.get(`${f.namespace}.${f.name}`);
    if (def) parts.push(recordInterface(def, named, true));
  }
  const union = (names: string[]): string => names.map((n) => `\n  | ${n}`).join('');
  const list = (names: string[]): string => names.map((n) => `'${n}'`).join(', ');
  parts.push(
    `/** Every command record (namespace ${COMMANDS_NAMESPACE}, topic reservations.commands). */\n` +
      `export type Command =${union(commands)};\n` +
      `/** Discriminant of a Command. */\nexport type CommandType = Command['type'];\n` +
      `/** Every command record name, sorted. */\nexport const commandTypes = [${list(commands)}] as const;\n`,
    `/** Every event record (namespace ${EVENTS_NAMESPACE}, topic reservations.events). */\n` +
      `export type Event =${union(events)};\n` +
      `/** Discriminant of an Event. */\nexport type EventType = Event['type'];\n` +
      `/** Every event record name, sorted. */\nexport const eventTypes = [${list(events)}] as const;\n`,
    `/** Fully qualified Avro name of each top-level record. */\nexport const avroFullNames = {\n${files
      .map((f) => `  ${f.name}: '${f.namespace}.${f.name}',\n`)
      .join('')}} as const;\n`,
  );
  return parts.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(generatedPath, generateTypes());
  console.log(`wrote ${generatedPath}`);
}
