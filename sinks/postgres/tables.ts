/**
 * The read-model tables as data: each column's SQL type and the rule that merges two versions of a row.
 * The same rules fold a batch's events in memory (one row per key, as ON CONFLICT requires) and generate the
 * upsert's ON CONFLICT clause, so the batch fold and the table agree by construction.
 *
 * The rules make a row a function of the set of events applied, whatever their order or repetition:
 * - `group`: the columns come together from the event with the highest `version` column (a stale or
 *   repeated event never moves them backwards);
 * - `once`: set by the first event that carries it, never changed (events that happen once per key);
 * - `least`: the smallest value seen;
 * - `lww`: the whole row comes from the event with the greatest (`updated_at`, `last_event_id`).
 */

export type SqlType = 'text' | 'uuid' | 'integer' | 'bigint' | 'boolean' | 'timestamptz';

export type MergeRule<R> =
  | { readonly group: keyof R & string; readonly columns: readonly (keyof R & string)[] }
  | { readonly once: keyof R & string }
  | { readonly least: keyof R & string };

export interface TableSpec<R> {
  readonly table: string;
  readonly key: keyof R & string;
  readonly columns: { readonly [C in keyof R & string]: SqlType };
  /** Columns written only when the row is inserted (identity that never changes). */
  readonly fixed: readonly (keyof R & string)[];
  readonly rules: readonly MergeRule<R>[];
  /** Last-writer-wins by (updated_at, last_event_id) instead of rules. */
  readonly lww?: boolean;
}

type Row = Record<string, unknown>;

/**
 * What PostgreSQL's `text` cannot hold: U+0000. One NUL in one value fails the whole statement (SQLSTATE
 * 22P05), so the event would be dead-lettered and its row lost. The edges refuse control characters
 * (producers/commands.ts TEXT_RULES), but the events topic keeps what was written before, so the read model
 * stores such a text with each U+0000 replaced by U+FFFD (the replacement character): everything else of the
 * row is stored as sent. Every other character, control or not, is stored as it is.
 */
export const NUL_REPLACEMENT = '\uFFFD';

/** A text as the read model stores it: U+0000 replaced by U+FFFD, nothing else changed. */
export function storableText(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', NUL_REPLACEMENT) : value;
}

/** The row with storableText applied to each `text` column; the same object when nothing needed it. */
export function storableRow<R extends object>(
  columns: { readonly [C in keyof R & string]: SqlType },
  row: R,
): R {
  let out: Row | undefined;
  for (const column in columns) {
    if ((columns as Record<string, SqlType>)[column] !== 'text') continue;
    const value = (row as Row)[column];
    if (typeof value !== 'string') continue;
    const stored = storableText(value);
    if (stored !== value) {
      out ??= { ...(row as Row) };
      out[column] = stored;
    }
  }
  return (out ?? row) as R;
}

function greater(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined) return false;
  if (b === null || b === undefined) return true;
  return (a as number | string) > (b as number | string);
}

/** Merges two rows of the same key by the table's rules; commutative and idempotent. */
export function mergeRows<R extends object>(spec: TableSpec<R>, left: R, right: R): R {
  const a = left as Row;
  const b = right as Row;
  if (spec.lww) {
    const bNewer =
      greater(b.updated_at, a.updated_at) ||
      (b.updated_at === a.updated_at && greater(b.last_event_id, a.last_event_id));
    return bNewer ? right : left;
  }
  const out: Row = { ...a };
  for (const rule of spec.rules) {
    if ('group' in rule) {
      if (greater(b[rule.group], a[rule.group])) {
        out[rule.group] = b[rule.group];
        for (const column of rule.columns) out[column] = b[column];
      }
    } else if ('once' in rule) {
      out[rule.once] = a[rule.once] ?? b[rule.once] ?? null;
    } else {
      const [x, y] = [a[rule.least] ?? null, b[rule.least] ?? null];
      out[rule.least] = x === null ? y : y === null ? x : greater(x, y) ? y : x;
    }
  }
  return out as R;
}

/**
 * INSERT … SELECT FROM json_to_recordset($n) … ON CONFLICT DO UPDATE, applying the rules in SQL. The WHERE
 * makes a stale or repeated event a no-op (no new row version, no write amplification).
 * Note: in `least`, a timestamp compares as text in memory (ISO 8601 in UTC, same length) and as time in SQL.
 */
export function upsertSql<R extends object>(spec: TableSpec<R>, parameter: number): string {
  const names = Object.keys(spec.columns);
  const definitions = names.map((c) => `${c} ${spec.columns[c as keyof R & string]}`).join(', ');
  const t = spec.table;
  const insert =
    `INSERT INTO ${t} (${names.join(', ')}) ` +
    `SELECT ${names.join(', ')} FROM json_to_recordset($${parameter}::json) AS x(${definitions}) ` +
    `ORDER BY ${spec.key} ON CONFLICT (${spec.key}) DO `;
  const updatable = names.filter((c) => c !== spec.key && !spec.fixed.includes(c as keyof R & string));
  if (spec.lww) {
    return (
      insert +
      `UPDATE SET ${updatable.map((c) => `${c} = excluded.${c}`).join(', ')} ` +
      `WHERE (excluded.updated_at, excluded.last_event_id) > (${t}.updated_at, ${t}.last_event_id)`
    );
  }
  const sets: string[] = [];
  const changes: string[] = [];
  for (const rule of spec.rules) {
    if ('group' in rule) {
      const newer = `excluded.${rule.group} > coalesce(${t}.${rule.group}, 0)`;
      sets.push(`${rule.group} = greatest(${t}.${rule.group}, excluded.${rule.group})`);
      for (const c of rule.columns)
        sets.push(`${c} = CASE WHEN ${newer} THEN excluded.${c} ELSE ${t}.${c} END`);
      changes.push(newer);
    } else if ('once' in rule) {
      const c = rule.once;
      sets.push(`${c} = coalesce(${t}.${c}, excluded.${c})`);
      changes.push(`(${t}.${c} IS NULL AND excluded.${c} IS NOT NULL)`);
    } else {
      const c = rule.least;
      sets.push(`${c} = least(${t}.${c}, excluded.${c})`);
      changes.push(`excluded.${c} < ${t}.${c} OR (${t}.${c} IS NULL AND excluded.${c} IS NOT NULL)`);
    }
  }
  return `${insert}UPDATE SET ${sets.join(', ')} WHERE ${changes.map((c) => `(${c})`).join(' OR ')}`;
}

/** A row of `resources`. Timestamps are ISO 8601 strings in UTC. */
export interface ResourceRow {
  id: string;
  name: string | null;
  description: string | null;
  capacity: number | null;
  unit_price_minor: number | null;
  currency: string | null;
  hold_timeout_ms: number | null;
  retired_at: string | null;
  retire_reason: string | null;
  version: number;
  settings_version: number | null;
  created_at: string | null;
  updated_at: string;
  last_event_id: string;
}

export const resources: TableSpec<ResourceRow> = {
  table: 'resources',
  key: 'id',
  columns: {
    id: 'text',
    name: 'text',
    description: 'text',
    capacity: 'integer',
    unit_price_minor: 'bigint',
    currency: 'text',
    hold_timeout_ms: 'bigint',
    retired_at: 'timestamptz',
    retire_reason: 'text',
    version: 'integer',
    settings_version: 'integer',
    created_at: 'timestamptz',
    updated_at: 'timestamptz',
    last_event_id: 'uuid',
  },
  fixed: [],
  rules: [
    { group: 'version', columns: ['updated_at', 'last_event_id'] },
    {
      group: 'settings_version',
      columns: ['name', 'description', 'capacity', 'unit_price_minor', 'currency', 'hold_timeout_ms'],
    },
    { once: 'retired_at' },
    { once: 'retire_reason' },
    { least: 'created_at' },
  ],
};

/** A row of `customers`. */
export interface CustomerRow {
  id: string;
  full_name: string;
  email: string;
  phone: string | null;
  updated_at: string;
  last_event_id: string;
}

export const customers: TableSpec<CustomerRow> = {
  table: 'customers',
  key: 'id',
  columns: {
    id: 'text',
    full_name: 'text',
    email: 'text',
    phone: 'text',
    updated_at: 'timestamptz',
    last_event_id: 'uuid',
  },
  fixed: [],
  rules: [],
  lww: true,
};

/** A row of `reservations`. */
export interface ReservationRow {
  id: string;
  resource_id: string;
  customer_id: string;
  status: string;
  version: number;
  start_at: string | null;
  end_at: string | null;
  quantity: number | null;
  unit_price_minor: number | null;
  price_minor: number | null;
  currency: string | null;
  resource_name: string | null;
  hold_expires_at: string | null;
  details_version: number | null;
  paid_price_minor: number | null;
  payment_reference: string | null;
  confirmed_at: string | null;
  confirmed_version: number | null;
  cancelled_at: string | null;
  cancel_reason: string | null;
  cancelled_version: number | null;
  payment_failed_at: string | null;
  payment_failure_reason: string | null;
  payment_failed_version: number | null;
  expired_at: string | null;
  completed_at: string | null;
  created_at: string | null;
  updated_at: string;
  last_event_id: string;
}

export const reservations: TableSpec<ReservationRow> = {
  table: 'reservations',
  key: 'id',
  columns: {
    id: 'uuid',
    resource_id: 'text',
    customer_id: 'text',
    status: 'text',
    version: 'integer',
    start_at: 'timestamptz',
    end_at: 'timestamptz',
    quantity: 'integer',
    unit_price_minor: 'bigint',
    price_minor: 'bigint',
    currency: 'text',
    resource_name: 'text',
    hold_expires_at: 'timestamptz',
    details_version: 'integer',
    paid_price_minor: 'bigint',
    payment_reference: 'text',
    confirmed_at: 'timestamptz',
    confirmed_version: 'integer',
    cancelled_at: 'timestamptz',
    cancel_reason: 'text',
    cancelled_version: 'integer',
    payment_failed_at: 'timestamptz',
    payment_failure_reason: 'text',
    payment_failed_version: 'integer',
    expired_at: 'timestamptz',
    completed_at: 'timestamptz',
    created_at: 'timestamptz',
    updated_at: 'timestamptz',
    last_event_id: 'uuid',
  },
  fixed: ['resource_id', 'customer_id'],
  rules: [
    { group: 'version', columns: ['status', 'updated_at', 'last_event_id'] },
    {
      group: 'details_version',
      columns: [
        'start_at',
        'end_at',
        'quantity',
        'unit_price_minor',
        'price_minor',
        'currency',
        'resource_name',
        'hold_expires_at',
      ],
    },
    { group: 'confirmed_version', columns: ['confirmed_at', 'paid_price_minor', 'payment_reference'] },
    { group: 'cancelled_version', columns: ['cancelled_at', 'cancel_reason'] },
    { group: 'payment_failed_version', columns: ['payment_failed_at', 'payment_failure_reason'] },
    { once: 'expired_at' },
    { once: 'completed_at' },
    { least: 'created_at' },
  ],
};

/** A row of `decisions`: one per event, inserted once. */
export interface DecisionRow {
  event_id: string;
  command_id: string;
  idempotency_key: string | null;
  event_type: string;
  resource_id: string;
  reservation_id: string | null;
  customer_id: string | null;
  rejected: boolean;
  reason: string | null;
  detail: string | null;
  version: number | null;
  decided_at: string;
}

export const decisionColumns: { readonly [C in keyof DecisionRow]: SqlType } = {
  event_id: 'uuid',
  command_id: 'uuid',
  idempotency_key: 'text',
  event_type: 'text',
  resource_id: 'text',
  reservation_id: 'uuid',
  customer_id: 'text',
  rejected: 'boolean',
  reason: 'text',
  detail: 'text',
  version: 'integer',
  decided_at: 'timestamptz',
};

export function insertDecisionsSql(parameter: number): string {
  const names = Object.keys(decisionColumns);
  const definitions = names.map((c) => `${c} ${decisionColumns[c as keyof DecisionRow]}`).join(', ');
  return (
    `INSERT INTO decisions (${names.join(', ')}) SELECT ${names.join(', ')} ` +
    `FROM json_to_recordset($${parameter}::json) AS x(${definitions}) ORDER BY event_id ` +
    'ON CONFLICT (event_id) DO NOTHING'
  );
}
