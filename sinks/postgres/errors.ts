/**
 * PostgreSQL errors → sink errors, converted once where they enter. By SQLSTATE class:
 * 22 (data exception) and 23 (integrity constraint violation) mean the data itself is refused: retrying
 * will not help. Everything else — no SQLSTATE at all (connection refused or reset, pool timeout),
 * 08 connection, 40 serialization/deadlock, 53 insufficient resources, 57 operator intervention (shutdown,
 * statement timeout), 42 (a missing table: migrations not run yet) — may pass: retry.
 */
import { SlotstreamError } from '../../common/errors.ts';
import { SinkRejectedError, SinkUnavailableError } from '../runtime/errors.ts';

const REFUSED_CLASSES = new Set(['22', '23']);

export function fromPgError(sink: string, error: unknown): Error {
  if (error instanceof SlotstreamError) return error;
  const sqlState = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (
    typeof sqlState === 'string' &&
    /^[0-9A-Z]{5}$/.test(sqlState) &&
    REFUSED_CLASSES.has(sqlState.slice(0, 2))
  ) {
    return new SinkRejectedError(
      sink,
      `PostgreSQL refused the batch (SQLSTATE ${sqlState}): ${message}`,
      error,
    );
  }
  const what = typeof sqlState === 'string' ? `SQLSTATE ${sqlState}` : 'no SQLSTATE';
  return new SinkUnavailableError(sink, `PostgreSQL unavailable (${what}): ${message}`, error);
}
