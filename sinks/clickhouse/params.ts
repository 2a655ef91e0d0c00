/**
 * Typed, validated report parameters. A report's SQL names its parameters as ClickHouse `{name:Type}`
 * placeholders and the values travel separately (HTTP `param_name`), so no client text is ever spliced into
 * SQL; these checks make a wrong value a precise 400 for the API instead of a server error.
 */
import { SlotstreamError } from '../../common/errors.ts';

/** Thrown when a report parameter is missing, of the wrong type, or out of range; `parameter` names it. */
export class InvalidReportParameterError extends SlotstreamError {
  static readonly code = 'INVALID_REPORT_PARAMETER';
  constructor(
    readonly parameter: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(
      'INVALID_REPORT_PARAMETER',
      `${parameter}: expected ${expected}, got ${JSON.stringify(received) ?? String(received)}`,
    );
  }
}

/** A parameter's checker: raw input → the value bound to ClickHouse. */
export interface ParamType<T> {
  /** The ClickHouse type in the placeholder, e.g. `Date` in `{from:Date}`. */
  readonly clickhouse: string;
  /** What the API documents. */
  readonly description: string;
  parse(name: string, raw: unknown): T;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar day, `YYYY-MM-DD` (UTC), bound as Date. */
export const dateParam: ParamType<string> = {
  clickhouse: 'Date',
  description: 'a calendar day YYYY-MM-DD (UTC)',
  parse(name, raw) {
    const match = typeof raw === 'string' ? DATE.exec(raw) : null;
    if (!match) throw new InvalidReportParameterError(name, this.description, raw);
    const [, y, m, d] = match.map(Number) as [number, number, number, number];
    const date = new Date(Date.UTC(y, m - 1, d));
    const real = date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
    // ClickHouse's Date covers 1970-01-01 .. 2149-06-06.
    if (!real || y < 1970 || y > 2149) throw new InvalidReportParameterError(name, this.description, raw);
    return raw as string;
  },
};

/** An id (resource, customer): 1..200 printable characters, bound as String; any text is inert there. */
export const idParam: ParamType<string> = {
  clickhouse: 'String',
  description: 'an id of 1 to 200 printable characters',
  parse(name, raw) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    if (typeof raw !== 'string' || raw.length < 1 || raw.length > 200 || /[\u0000-\u001f\u007f]/.test(raw)) {
      throw new InvalidReportParameterError(name, this.description, raw);
    }
    return raw;
  },
};

/** An optional id: absent means "all"; bound as String ('' for all). */
export const optionalIdParam: ParamType<string> = {
  clickhouse: 'String',
  description: 'an optional id of 1 to 200 printable characters',
  parse(name, raw) {
    return raw === undefined || raw === null ? '' : idParam.parse(name, raw);
  },
};

/** A whole number in [min, max], bound as UInt32. */
export function intParam(min: number, max: number, fallback?: number): ParamType<number> {
  return {
    clickhouse: 'UInt32',
    description: `a whole number from ${min} to ${max}`,
    parse(name, raw) {
      const value =
        raw === undefined && fallback !== undefined
          ? fallback
          : typeof raw === 'string' && /^\d+$/.test(raw)
            ? Number(raw)
            : raw;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new InvalidReportParameterError(name, this.description, raw);
      }
      return value;
    },
  };
}

/** One of a fixed set of words; chooses between prepared queries, never spliced. */
export function enumParam<const T extends string>(values: readonly T[], fallback?: T): ParamType<T> {
  return {
    clickhouse: 'String',
    description: `one of ${values.join(', ')}`,
    parse(name, raw) {
      const value = raw === undefined ? fallback : raw;
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
        throw new InvalidReportParameterError(name, this.description, raw);
      }
      return value as T;
    },
  };
}

const DAY_MS = 86_400_000;

/** Checks that [from, to) is a non-empty range of at most `maxDays` days. */
export function checkRange(from: string, to: string, maxDays: number): void {
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS;
  if (days <= 0) throw new InvalidReportParameterError('to', `a day after from (${from})`, to);
  if (days > maxDays) throw new InvalidReportParameterError('to', `at most ${maxDays} days after from`, to);
}
