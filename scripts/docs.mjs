// The API reference: TypeDoc over the package's entry points (typedoc.json) into docs/api/, and the
// checks that make it complete, each a failure (exit 1):
//
// - TypeDoc's own validation with every warning an error: every exported symbol and member
//   documented (`notDocumented`), every type the docs mention exported (`notExported`), no
//   broken `{@link}`;
// - an `@example` on every optimizer class, every schedule (the functions and the scheduler
//   classes) and `fit()`; and every optimizer class's comment states its rule as pseudo-code (a
//   code block) with its source (a year or the PyTorch/Optax function it follows);
// - every `@example` in the docs runs: its code is extracted, `'downhill'` pointed at the compiled
//   package in dist/, and run with Node (ES modules, top-level await); one that throws fails.
//
//   node scripts/docs.mjs            (npm run docs)  checks and writes docs/api/
//   node scripts/docs.mjs --check    checks only (the test command's step; nothing is written)
//   ... --print                      also prints what each example logs (to compare with its comments)
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import * as td from 'typedoc';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const print = process.argv.includes('--print');
const t0 = Date.now();
const problems = [];

const app = await td.Application.bootstrapWithPlugins(
  {
    options: join(ROOT, 'typedoc.json'),
    // Type errors are tsc's business (the test command runs tsc --noEmit); skipping them here
    // halves TypeDoc's time.
    skipErrorChecking: true,
  },
  [new td.TypeDocReader(), new td.TSConfigReader()],
);
const project = await app.convert();
if (!project) {
  console.error('docs: TypeDoc could not convert the project');
  process.exit(1);
}
app.validate(project);
if (app.logger.hasErrors() || app.logger.hasWarnings()) problems.push('TypeDoc reported the warnings above');

// ---- required examples and optimizer rules ----------------------------------------------------
const file = (r) => relative(ROOT, r.sources?.[0]?.fullFileName ?? '');
// A function's documentation is its signature's comment.
const commentOf = (r) => (r.kind === td.ReflectionKind.Function ? r.signatures?.[0]?.comment : r.comment);
const text = (parts) => td.Comment.combineDisplayParts(parts ?? []);
const examples = [];
const seen = new Set();
for (const r of project.getReflectionsByKind(td.ReflectionKind.Class | td.ReflectionKind.Function)) {
  const c = commentOf(r);
  for (const tag of c?.blockTags ?? []) {
    if (tag.tag !== '@example') continue;
    const key = `${file(r)}:${r.name}`;
    if (seen.has(key)) continue; // the same declaration reached from both entry points
    seen.add(key);
    examples.push({ name: r.name, file: file(r), text: text(tag.content) });
  }
}
const hasExample = (r) => (commentOf(r)?.blockTags ?? []).some((t) => t.tag === '@example');
const required = project.getReflectionsByKind(td.ReflectionKind.Class | td.ReflectionKind.Function).filter((r) => {
  const f = file(r);
  if (r.kind === td.ReflectionKind.Class && r.flags.isAbstract) return false;
  if (f.startsWith('ts/optim/') && r.kind === td.ReflectionKind.Class) return true;
  if (f.startsWith('ts/schedule/') && r.kind === td.ReflectionKind.Class) return true;
  if (f === 'ts/schedule/functions.ts' && r.kind === td.ReflectionKind.Function) return true;
  return f === 'ts/train/fit.ts' && r.name === 'fit';
});
const requiredNames = [...new Set(required.map((r) => `${r.name} (${file(r)})`))];
// The rules above find classes by their source file: without sources they would check nothing.
if (!requiredNames.some((n) => n.startsWith('Adam ')))
  problems.push('found no optimizer classes to check (does TypeDoc still record source files?)');
for (const r of required) if (!hasExample(r)) problems.push(`${r.name} (${file(r)}) has no @example`);
for (const r of required) {
  if (!file(r).startsWith('ts/optim/')) continue;
  const summary = text(commentOf(r)?.summary);
  if (!/```/.test(summary)) problems.push(`${r.name} (${file(r)}): no pseudo-code block in its comment`);
  if (!/\b(19|20)\d\d\b|torch\.optim|optax\./.test(summary))
    problems.push(`${r.name} (${file(r)}): its comment names no source (paper and year, or torch.optim/optax)`);
}

// ---- run the examples -------------------------------------------------------------------------
const dist = join(ROOT, 'dist');
if (!existsSync(join(dist, 'index.js'))) {
  problems.push('dist/index.js missing: build first (npm run build) so the examples can run');
} else {
  const work = mkdtempSync(join(tmpdir(), 'downhill-examples-'));
  const runs = [];
  examples.forEach((ex, i) => {
    const blocks = [...ex.text.matchAll(/```(?:ts|js|typescript)?\n([\s\S]*?)```/g)].map((m) => m[1]);
    if (blocks.length === 0) {
      problems.push(`${ex.name} (${ex.file}): @example has no fenced code block`);
      return;
    }
    const code = blocks
      .join('\n')
      .replaceAll(
        /from '(downhill(?:\/node)?)'/g,
        (_, spec) =>
          `from ${JSON.stringify(pathToFileURL(join(dist, spec === 'downhill' ? 'index.js' : 'node.js')).href)}`,
      );
    const path = join(work, `${String(i).padStart(3, '0')}-${ex.name}.mjs`);
    writeFileSync(path, `${code}\nexport {};\n`);
    runs.push({ ...ex, path });
  });
  // One Node process imports them in turn (a process per example would cost more than they do).
  const runner = join(work, 'run.mjs');
  writeFileSync(
    runner,
    `const files = ${JSON.stringify(runs.map((r) => r.path))};
const failed = [];
const log = console.log;
for (const f of files) {
  if (${print}) process.stderr.write('--- ' + f.split('/').pop() + '\\n');
  console.log = ${print} ? (...a) => console.error(...a) : () => {};
  try { await import(f); } catch (e) { failed.push(f + ': ' + (e && e.stack || e)); }
  console.log = log;
}
process.stdout.write(JSON.stringify(failed));
`,
  );
  try {
    const out = execFileSync(process.execPath, [runner], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    for (const f of JSON.parse(out)) problems.push(`example failed: ${f}`);
  } catch (e) {
    problems.push(`the example runner failed: ${e.message}`);
  }
  rmSync(work, { recursive: true, force: true });
}

if (problems.length > 0) {
  for (const p of problems) console.error(`docs: ${p}`);
  process.exit(1);
}
if (!check) {
  const out = app.options.getValue('out');
  await app.generateDocs(project, out);
  if (app.logger.hasErrors() || app.logger.hasWarnings()) {
    console.error('docs: TypeDoc reported the warnings above while writing the pages');
    process.exit(1);
  }
  console.log(`==> API docs in ${relative(ROOT, out)}/`);
}
console.log(
  `==> docs: every public symbol documented, ${requiredNames.length} optimizers/schedules/fit with an @example, ` +
    `${examples.length} examples run, in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
