#!/usr/bin/env node
// Writes docs/schedules/NAME.svg, one plot per schedule family, from the schedule functions
// themselves (the catalog's example settings). Needs the compiled package:
//   npm run build:ts && node scripts/schedule-svgs.mjs
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const catalogJs = join(root, 'dist', 'schedule', 'catalog.js');
if (!existsSync(catalogJs)) {
  console.error(`schedule-svgs: ${relative(root, catalogJs)} is missing; run \`npm run build:ts\` first`);
  process.exit(1);
}
const { CATALOG, buildEntry, scheduleChart } = await import(catalogJs);

const outDir = join(root, 'docs', 'schedules');
mkdirSync(outDir, { recursive: true });
for (const entry of CATALOG) {
  const lines = entry.examples.map((ex) => ({
    label: ex.label,
    built: buildEntry(entry, ex.options),
    steps: ex.steps,
  }));
  const file = join(outDir, `${entry.name}.svg`);
  writeFileSync(file, scheduleChart(`${entry.pytorch} · ${entry.fn}`, lines));
  console.log(`wrote ${relative(root, file)}`);
}
