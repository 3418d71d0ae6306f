/**
 * `npm run readme`: writes the configuration table (generated from lib/config.ts, the one place
 * the variables are defined) into README.md between its config-table markers. A test fails when
 * the README is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatConfigTable } from '../lib/config.ts';

export const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';

/** The README text with the configuration table between the markers replaced by `table`. */
export const withConfigTable = (readme: string, table: string): string => {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md lacks the ${start} ... ${end} markers`);
  return `${readme.slice(0, from + start.length)}\n${table}\n${readme.slice(to)}`;
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(readmePath, withConfigTable(readFileSync(readmePath, 'utf8'), formatConfigTable()));
}
