/**
 * ClickHouse errors → sink errors, converted once where they enter. The server's errors carry a numeric
 * code: those that say the data cannot be parsed or stored as typed are refusals (the record goes to the
 * dead-letter topic); every other server error (too many parts, memory, timeouts, a missing table before
 * ch:migrate) and every network error may pass: retry.
 */
import { ClickHouseError } from '@clickhouse/client';
import { SlotstreamError } from '../../common/errors.ts';
import { SinkRejectedError, SinkUnavailableError } from '../runtime/errors.ts';

/** Server error codes that mean "this data can never be inserted as it is". */
export const DATA_ERROR_CODES: ReadonlySet<string> = new Set([
  '6', // CANNOT_PARSE_TEXT
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '321', // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  '349', // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  '376', // CANNOT_PARSE_UUID
]);

export function fromClickHouseError(sink: string, error: unknown): Error {
  if (error instanceof SlotstreamError) return error;
  if (error instanceof ClickHouseError && DATA_ERROR_CODES.has(error.code)) {
    return new SinkRejectedError(
      sink,
      `ClickHouse refused the rows (${error.type ?? error.code}): ${error.message}`,
      error,
    );
  }
  const what =
    error instanceof ClickHouseError
      ? `${error.type ?? error.code}`
      : ((error as { code?: string })?.code ?? 'network');
  const message = error instanceof Error ? error.message : String(error);
  return new SinkUnavailableError(sink, `ClickHouse unavailable (${what}): ${message}`, error);
}
