/**
 * `downhill schedule NAME --steps N [--json | --svg FILE]`: shows a schedule before training with
 * it. Hook it into the command line as
 *
 * ```ts
 * case 'schedule':
 *   return await scheduleCommand(rest, flags, out, err);
 * ```
 *
 * where `rest` are the positional arguments after `schedule` and `flags` the parsed `--key value`
 * flags (`--key` alone is `true`).
 */
import { writeFile } from 'node:fs/promises';
import { camelCase } from './check.js';
import {
  buildEntry,
  CATALOG,
  findEntry,
  scheduleChart,
  tabulate,
  type CatalogEntry,
  type OptionType,
} from './catalog.js';

export const SCHEDULE_USAGE = `usage: downhill schedule NAME --steps N [--json | --svg FILE] [--log-y] [--lr X] [--OPTION VALUE ...]

Prints the learning rate (and the momentum, for schedules that cycle it) at steps 0 .. N-1: a
table, or with --json one document {name, options, steps: [{step, lr, momentum?}]}, or with
--svg FILE a plot written to FILE (--log-y: logarithmic lr axis). --lr is the initial lr of the
schedules that scale one (default 0.1). Options take camelCase, kebab-case or PyTorch's names
(--stepSize, --step-size, --step_size; --T_max); lists are comma-separated (--milestones 30,60).

NAME (or its PyTorch class) and its options:
${CATALOG.map((e) => `  ${e.name.padEnd(16)} ${e.summary}\n  ${''.padEnd(16)} ${optionList(e)}`).join('\n')}

  warmup also takes --then NAME, followed by that schedule's options (e.g. --then cosine --tMax 90).

example: downhill schedule one-cycle --steps 100 --maxLr 0.1 --totalSteps 100 --svg one-cycle.svg`;

function optionList(e: CatalogEntry): string {
  const kind: Record<OptionType, string> = { number: 'X', numbers: 'X,Y,..', boolean: 'true|false', string: 'S' };
  return Object.entries(e.options)
    .map(([k, t]) => `--${k} ${kind[t]}`)
    .join(' ');
}

/** Flags the command itself reads; every other flag must be an option of the schedule. */
const OWN = ['steps', 'json', 'svg', 'logY', 'lr', 'then', 'help'];

class UsageError extends Error {}

/** `--step-size`, `--step_size`, `--T_max` → `stepSize`, `tMax`. */
function optionName(flag: string): string {
  return camelCase(flag.replace(/-/g, '_'));
}

function parseValue(flag: string, v: string | true, type: OptionType): unknown {
  if (type === 'boolean') {
    if (v === true || v === 'true') return true;
    if (v === 'false') return false;
    throw new UsageError(`--${flag} must be true or false, got ${JSON.stringify(v)}`);
  }
  if (v === true) throw new UsageError(`--${flag} needs a value`);
  if (type === 'string') return v;
  const nums = v.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (nums.some((n) => Number.isNaN(n)))
    throw new UsageError(`--${flag} must be ${type === 'numbers' ? 'a list of numbers' : 'a number'}, got ${v}`);
  if (type === 'number' && nums.length !== 1) throw new UsageError(`--${flag} must be one number, got ${v}`);
  return type === 'numbers' ? nums : nums[0];
}

/**
 * Runs `downhill schedule`. `args` are the positional arguments after `schedule` (the NAME),
 * `flags` every `--key value` (value `true` when the flag stands alone). Output goes to `out`
 * (one line per call); usage errors go to `err` with the usage text. Returns the exit code: 0 on
 * success, 2 for a usage error (unknown NAME, flag or option value), 1 if the SVG cannot be written.
 */
export async function scheduleCommand(
  args: string[],
  flags: Map<string, string | true>,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  if (flags.has('help')) {
    out(SCHEDULE_USAGE);
    return 0;
  }
  let table: ReturnType<typeof tabulate>;
  let name: string;
  let built: ReturnType<typeof buildEntry>;
  let steps: number;
  let given: Record<string, unknown>;
  try {
    ({ name, built, steps, given } = parse(args, flags));
    table = tabulate(built, steps);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof TypeError || e instanceof RangeError)) throw e;
    // Factory messages name options as `options.x`; on the command line that is `--x`.
    err(`downhill schedule: ${e.message.replace(/^options\./, '--')}\n\n${SCHEDULE_USAGE}`);
    return 2;
  }
  const svg = flags.get('svg');
  if (svg !== undefined) {
    const chart = scheduleChart(
      `${name}: ${describe(given)}`,
      [{ label: 'lr', built, steps }],
      flags.has('logY') || flags.has('log-y'),
    );
    try {
      await writeFile(svg as string, chart);
    } catch (e) {
      err(`downhill schedule: cannot write ${svg}: ${(e as Error).message}`);
      return 1;
    }
    out(`wrote ${svg}`);
    return 0;
  }
  if (flags.has('json')) {
    out(JSON.stringify({ name, options: built.options, steps: table }));
    return 0;
  }
  out(`# ${name}: ${describe(built.options)}`);
  const cols = built.momentum ? ['step', 'lr', 'momentum'] : ['step', 'lr'];
  const rows = table.map((r) => [
    String(r.step),
    String(r.lr),
    ...(r.momentum === undefined ? [] : [String(r.momentum)]),
  ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  for (const r of [cols, ...rows])
    out(
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}

function describe(o: Record<string, unknown>): string {
  return Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) =>
      k === 'then' && v && typeof v === 'object'
        ? `then ${(v as { name: string }).name} (${describe((v as { options: Record<string, unknown> }).options)})`
        : `${k} ${Array.isArray(v) ? v.join(',') : String(v)}`,
    )
    .join(', ');
}

function parse(args: string[], flags: Map<string, string | true>) {
  const [nameArg, ...extra] = args;
  if (nameArg === undefined) throw new UsageError('schedule needs a NAME');
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const entry = findEntry(nameArg);
  if (!entry) throw new UsageError(`unknown schedule ${JSON.stringify(nameArg)}`);
  if (flags.has('json') && flags.has('svg')) throw new UsageError('--json and --svg cannot be combined');
  const stepsFlag = flags.get('steps');
  if (stepsFlag === undefined) throw new UsageError('--steps N is required');
  const steps = parseValue('steps', stepsFlag, 'number') as number;
  if (!Number.isInteger(steps) || steps < 1 || steps > 1e6)
    throw new UsageError(`--steps must be an integer in [1, 1e6], got ${stepsFlag}`);
  const svg = flags.get('svg');
  if (svg === true) throw new UsageError('--svg needs a FILE');

  const thenFlag = flags.get('then');
  if (thenFlag !== undefined && entry.name !== 'warmup') throw new UsageError('--then is only for warmup');
  if (thenFlag === true) throw new UsageError('--then needs a NAME');
  const then = thenFlag === undefined ? undefined : findEntry(thenFlag);
  if (thenFlag !== undefined && (!then || then.name === 'warmup'))
    throw new UsageError(`unknown --then schedule ${JSON.stringify(thenFlag)}`);

  const lrFlag = flags.get('lr');
  const lr = lrFlag === undefined ? 0.1 : (parseValue('lr', lrFlag, 'number') as number);
  const own: Record<string, unknown> = entry.takesLr ? { lr } : {};
  const next: Record<string, unknown> = then?.takesLr ? { lr } : {};
  if (lrFlag !== undefined && !entry.takesLr)
    throw new UsageError(`--lr does not apply to ${entry.name} (it sets its own lrs)`);
  for (const [flag, value] of flags) {
    const key = optionName(flag);
    if (OWN.includes(key) || flag === 'log-y') continue;
    if (key in entry.options) own[key] = parseValue(flag, value, entry.options[key]);
    else if (then && key in then.options) next[key] = parseValue(flag, value, then.options[key]);
    else throw new UsageError(`unknown option --${flag} for ${entry.name}${then ? ` or ${then.name}` : ''}`);
  }
  if (then) own.then = { name: then.name, options: next };
  return { name: entry.name, built: buildEntry(entry, own), steps, given: own };
}
