import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCsv } from '../ts/train/csv.js';
import { CsvError, DataError } from '../ts/train/errors.js';

const TABLE = 'a,b,price\n1,2,10.5\n3,4e1,-2\n\n"5",6,7\n';

function thrown(f: () => unknown): CsvError {
  try {
    f();
  } catch (e) {
    return e as CsvError;
  }
  throw new Error('did not throw');
}

describe('loadCsv', () => {
  it('reads a numeric table with a header; the target by name, by index, or the last column', () => {
    const d = loadCsv({ text: TABLE }, { target: 'price' });
    expect(d.rows).toBe(3);
    expect(d.features).toBe(2);
    expect(Array.from(d.x)).toEqual([1, 2, 3, 40, 5, 6]);
    expect(Array.from(d.y)).toEqual([10.5, -2, 7]);
    expect(d.featureNames).toEqual(['a', 'b']);
    expect(d.targetNames).toEqual(['price']);
    expect(Array.from(loadCsv({ text: TABLE }).y)).toEqual([10.5, -2, 7]);
    const two = loadCsv({ text: TABLE }, { target: [0, 'b'] });
    expect(two.targets).toBe(2);
    expect(Array.from(two.y)).toEqual([1, 2, 3, 40, 5, 6]);
    expect(Array.from(two.x)).toEqual([10.5, -2, 7]);
  });

  it('reads files and tables without a header, and other delimiters', () => {
    const dir = mkdtempSync(join(tmpdir(), 'downhill-csv-'));
    const file = join(dir, 't.csv');
    writeFileSync(file, '\ufeff1;2;0\r\n3;4;1\r\n');
    const d = loadCsv(file, { header: false, delimiter: ';', target: 2, classes: true });
    expect(d.classes).toBe(2);
    expect(Array.from(d.y)).toEqual([0, 1]);
    expect(() => loadCsv(file, { header: false, delimiter: ';', target: 'x' })).toThrow(/name columns by index/);
  });

  it('class labels: integers, or names numbered in sorted order', () => {
    const iris = loadCsv(
      { text: 'x,species\n1,setosa\n2,virginica\n3,setosa\n' },
      { target: 'species', classes: true },
    );
    expect(iris.classes).toBe(2);
    expect(iris.classNames).toEqual(['setosa', 'virginica']);
    expect(Array.from(iris.y)).toEqual([0, 1, 0]);
    expect(() => loadCsv({ text: 'x,c\n1,3\n' }, { target: 'c', classes: 2 })).toThrow(
      /label 3 is not below classes = 2/,
    );
  });

  it('a non-numeric cell is a CsvError naming the data row, the file line and the column', () => {
    const e = thrown(() => loadCsv({ text: 'a,b,y\n1,2,3\n4,abc,6\n' }, { target: 'y' }));
    expect(e).toBeInstanceOf(CsvError);
    expect(e).toBeInstanceOf(DataError);
    expect(e.row).toBe(1);
    expect(e.line).toBe(3);
    expect(e.column).toBe('b');
    expect(e.message).toBe('csv:3: data row 1, feature column "b": "abc" is not a number');
    expect(thrown(() => loadCsv({ text: 'a,y\n,1\n' }, { target: 'y' })).message).toMatch(
      /feature column "a": "" is not a number/,
    );
    expect(thrown(() => loadCsv({ text: 'a,y\n1,NaN\n' }, { target: 'y' })).message).toMatch(
      /target column "y": "NaN" is not a number/,
    );
    expect(thrown(() => loadCsv({ text: 'a,y\n1,1e999\n' }, { target: 'y' })).message).toMatch(/out of range/);
  });

  it('ragged rows, unknown columns, empty tables and bad options are named', () => {
    const e = thrown(() => loadCsv({ text: 'a,b,y\n1,2,3\n4,5\n' }));
    expect(e).toBeInstanceOf(CsvError);
    expect(e.message).toMatch(/csv:3/);
    expect(() => loadCsv({ text: 'a,y\n1,2\n' }, { target: 'z' })).toThrow(
      /options.target: no column "z"; columns: a, y/,
    );
    expect(() => loadCsv({ text: 'a,y\n' })).toThrow(/no data rows/);
    expect(() => loadCsv({ text: '' })).toThrow(/no lines/);
    expect(() => loadCsv({ text: 'a\n1\n' })).toThrow(/no feature columns/);
    expect(() => loadCsv({ text: 'a,y\n1,2\n' }, { tagret: 'y' } as never)).toThrow(/options.tagret: is not an option/);
    expect(() => loadCsv({ text: 'a,"y\n1,2\n' })).toThrow(CsvError);
  });
});
