/**
 * Numeric tables from CSV files, parsed by `csv-parse` (quoting, delimiters, CRLF, BOM), into a
 * `Dataset`. Every feature cell must be a number; a cell that is not is a `CsvError` naming its
 * data row, 1-based file line and column, thrown before any row is kept.
 *
 * ```ts
 * const data = loadCsv('housing.csv', { target: 'price' });               // regression
 * const iris = loadCsv('iris.csv', { target: 'species', classes: true }); // labels (names allowed)
 * ```
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { rangeError, typeError } from '../errors.js';
import { describeType } from '../spec.js';
import { Dataset } from './data.js';
import { CsvError } from './errors.js';

/** A CSV column: its name (with a header line) or its 0-based index. */
export type Column = string | number;

/** Options of `loadCsv`. */
export interface CsvOptions {
  /** Whether the first line names the columns. Default `true`. */
  header?: boolean;
  /** The target column(s), by name (with a header) or 0-based index. Default: the last column. */
  target?: Column | readonly Column[];
  /** The feature columns; default every column that is not a target. */
  features?: readonly Column[];
  /**
   * The target is one column of class labels: `true` counts the classes from the data (numeric
   * labels must be integers >= 0 and give `max + 1` classes; other labels are names, numbered in
   * sorted order); a number fixes the count.
   */
  classes?: boolean | number;
  /** Field delimiter, default `,`. */
  delimiter?: string;
}

const OPTION_KEYS = ['header', 'target', 'features', 'classes', 'delimiter'];

/** A number from a cell: decimal or exponent notation, optional sign; `inf`/`nan` are not numbers. */
function toNumber(cell: string): number {
  const s = cell.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

/** Reads a CSV file (a path) or CSV text (`{ text }`) into a Dataset. */
export function loadCsv(source: string | { text: string }, options: CsvOptions = {}): Dataset {
  if (options === null || typeof options !== 'object') {
    throw typeError('options', `must be an object, got ${describeType(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.includes(k))
      throw typeError(`options.${k}`, `is not an option of loadCsv (known: ${OPTION_KEYS.join(', ')})`);
  }
  let text: string;
  let where: string;
  if (typeof source === 'string') {
    text = readFileSync(source, 'utf8');
    where = source;
  } else if (source && typeof source === 'object' && typeof source.text === 'string') {
    text = source.text;
    where = 'csv';
  } else {
    throw typeError('source', `must be a file path or { text }, got ${describeType(source)}`);
  }
  const header = options.header ?? true;
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      info: true,
      skip_empty_lines: true,
      bom: true,
      delimiter: options.delimiter ?? ',',
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    const err = e as Error & { lines?: number; code?: string };
    const line = typeof err.lines === 'number' ? err.lines : null;
    throw new CsvError(`${where}${line ? `:${line}` : ''}: ${err.message}`, null, null, line);
  }
  if (records.length === 0) throw new CsvError(`${where}: the file has no lines`, null, null, null);
  const names = header ? records[0].record.map((s) => s.trim()) : records[0].record.map((_, i) => String(i));
  const body = header ? records.slice(1) : records;
  if (body.length === 0) throw new CsvError(`${where}: the table has no data rows`, null, null, null);
  const ncol = names.length;

  const resolve = (c: Column, arg: string): number => {
    if (typeof c === 'number') {
      if (!Number.isInteger(c) || c < 0 || c >= ncol)
        throw rangeError(arg, `column index ${c} is not in [0, ${ncol - 1}]`);
      return c;
    }
    if (typeof c !== 'string') throw typeError(arg, `must be a column name or index, got ${describeType(c)}`);
    const i = names.indexOf(c);
    if (i < 0) {
      throw rangeError(
        arg,
        header
          ? `no column ${JSON.stringify(c)}; columns: ${names.join(', ')}`
          : `${JSON.stringify(c)}: without a header, name columns by index`,
      );
    }
    return i;
  };
  const targetList: readonly Column[] =
    options.target === undefined
      ? [ncol - 1]
      : Array.isArray(options.target)
        ? options.target
        : [options.target as Column];
  if (targetList.length === 0) throw rangeError('options.target', 'must name at least one column');
  const targets = targetList.map((c, i) =>
    resolve(c, Array.isArray(options.target) ? `options.target[${i}]` : 'options.target'),
  );
  const features =
    options.features === undefined
      ? names.map((_, i) => i).filter((i) => !targets.includes(i))
      : options.features.map((c, i) => resolve(c, `options.features[${i}]`));
  if (features.length === 0) throw rangeError('options.features', 'no feature columns are left');
  for (const t of targets) {
    if (features.includes(t))
      throw rangeError('options.features', `column ${JSON.stringify(names[t])} is also a target`);
  }
  const classes = options.classes ?? false;
  if (classes !== false && targets.length !== 1) throw rangeError('options.classes', 'needs exactly one target column');

  const x = new Float32Array(body.length * features.length);
  const yText: string[] = [];
  const y = new Float32Array(body.length * targets.length);
  body.forEach(({ record, info }, r) => {
    const line = info.lines;
    if (record.length !== ncol) {
      throw new CsvError(
        `${where}:${line}: data row ${r} has ${record.length} fields, the ${header ? 'header' : 'first line'} has ${ncol}`,
        r,
        null,
        line,
      );
    }
    const cell = (c: number, kind: string): number => {
      const v = toNumber(record[c]);
      if (Number.isNaN(v)) {
        throw new CsvError(
          `${where}:${line}: data row ${r}, ${kind} column ${JSON.stringify(names[c])}: ${JSON.stringify(record[c])} is not a number`,
          r,
          names[c],
          line,
        );
      }
      if (!Number.isFinite(v)) {
        throw new CsvError(
          `${where}:${line}: data row ${r}, ${kind} column ${JSON.stringify(names[c])}: ${record[c]} is out of range`,
          r,
          names[c],
          line,
        );
      }
      return v;
    };
    features.forEach((c, j) => (x[r * features.length + j] = cell(c, 'feature')));
    if (classes === false) targets.forEach((c, j) => (y[r * targets.length + j] = cell(c, 'target')));
    else yText.push(record[targets[0]].trim());
  });

  let classCount: number | undefined;
  let classNames: string[] | undefined;
  if (classes !== false) {
    const numeric = yText.every((s) => /^\d+$/.test(s));
    if (numeric) {
      yText.forEach((s, r) => (y[r] = Number(s)));
      classCount = typeof classes === 'number' ? classes : Math.max(...y) + 1;
    } else {
      classNames = [...new Set(yText)].sort();
      const index = new Map(classNames.map((n, i) => [n, i]));
      yText.forEach((s, r) => (y[r] = index.get(s) as number));
      classCount = classNames.length;
      if (typeof classes === 'number' && classes !== classCount) {
        throw rangeError('options.classes', `is ${classes}, the target column has ${classCount} distinct labels`);
      }
    }
    if (typeof classes === 'number') {
      if (!Number.isInteger(classes) || classes < 1)
        throw rangeError('options.classes', `must be true or an integer >= 1, got ${classes}`);
      const bad = y.findIndex((v) => v >= classes);
      if (bad >= 0) {
        throw new CsvError(
          `${where}:${body[bad].info.lines}: data row ${bad}, target column ${JSON.stringify(names[targets[0]])}: label ${yText[bad]} is not below classes = ${classes}`,
          bad,
          names[targets[0]],
          body[bad].info.lines,
        );
      }
    }
  }
  return new Dataset({
    x,
    y,
    features: features.length,
    targets: targets.length,
    classes: classCount,
    featureNames: features.map((i) => names[i]),
    targetNames: targets.map((i) => names[i]),
    classNames,
  });
}
