/**
 * Errors of the training helpers. They keep downhill's convention (a `TypeError` or `RangeError`
 * whose message starts with what is wrong) and add a class a caller can test for, with the place
 * of the problem as fields.
 */

/** Bad training data: a value that is not finite, a label out of range, a shape that does not fit. */
export class DataError extends RangeError {
  /** `'DataError'` (subclasses put their own). */
  override readonly name: string = 'DataError';
  constructor(
    message: string,
    /** 0-based row of the data (for CSV files: the data row, not counting the header) or `null`. */
    readonly row: number | null = null,
    /** 0-based column, or the column's name when it has one, or `null`. */
    readonly column: number | string | null = null,
  ) {
    super(message);
  }
}

/** A CSV cell or line that cannot be read; `line` is the 1-based line in the file. */
export class CsvError extends DataError {
  /** Always `'CsvError'`. */
  override readonly name = 'CsvError';
  constructor(
    message: string,
    row: number | null,
    column: number | string | null,
    /** 1-based line of the file, or `null`. */
    readonly line: number | null,
  ) {
    super(message, row, column);
  }
}

/** A checkpoint that cannot be used: unreadable, damaged, or saved from another architecture. */
export class CheckpointError extends RangeError {
  /** Always `'CheckpointError'`. */
  override readonly name = 'CheckpointError';
  constructor(
    message: string,
    /** The file the problem is in. */
    readonly file: string | null = null,
  ) {
    super(message);
  }
}
