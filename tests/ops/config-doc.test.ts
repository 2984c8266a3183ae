/**
 * docs/configuration.md must list every environment variable of every service, with the default
 * the schema really applies, in that service's section — and nothing that no longer exists.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiEnvSchema } from '../../services/api/src/config.ts';
import { invalidatorEnvSchema } from '../../services/cache-invalidator/src/config.ts';
import { workerEnvSchema } from '../../services/scheduler-worker/src/index.ts';
import { repoRoot } from './support.ts';

/** What the test needs of a zod object schema (the tests package does not depend on zod). */
type EnvSchema = { shape: Record<string, unknown>; parse(env: unknown): unknown };

const services: [string, EnvSchema][] = [
  ['services/api', apiEnvSchema],
  ['services/scheduler-worker', workerEnvSchema],
  ['services/cache-invalidator', invalidatorEnvSchema],
];

const doc = readFileSync(resolve(repoRoot, 'docs/configuration.md'), 'utf8');

/** The rows `| \`NAME\` | default | meaning |` of the `## <heading>` section. */
function section(heading: string): Map<string, string> {
  const parts = doc.split(/^## /m);
  const body = parts.find((p) => p.split('\n')[0]!.trim() === heading);
  if (!body) throw new Error(`docs/configuration.md has no section "## ${heading}"`);
  const rows = new Map<string, string>();
  for (const line of body.split('\n')) {
    const m = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*([^|]*?)\s*\|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

/** How the default is written in the table: the value the schema yields for an unset variable. */
function documentedDefault(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'object') return `\`${JSON.stringify(value)}\``;
  return `\`${String(value)}\``;
}

describe('docs/configuration.md', () => {
  for (const [name, schema] of services) {
    describe(name, () => {
      const rows = section(name);
      const defaults = schema.parse({}) as Record<string, unknown>;
      const vars = Object.keys(schema.shape);

      it('reads at least one variable (the schema was found)', () => {
        expect(vars.length).toBeGreaterThan(5);
      });

      it.each(vars)('documents %s with its default', (v) => {
        expect(rows.has(v), `${v} is missing from the "## ${name}" table`).toBe(true);
        expect(rows.get(v)).toBe(documentedDefault(defaults[v]));
      });

      it('documents no variable the service does not read', () => {
        expect([...rows.keys()].filter((v) => !vars.includes(v))).toEqual([]);
      });
    });
  }
});

/**
 * The feature docs repeat some settings in their own tables: where such a row gives a plain
 * default (one value, not a formula), it must be the default a service's schema applies.
 */
describe.each(['docs/events.md', 'docs/generation.md'])('%s settings tables', (file) => {
  const text = readFileSync(resolve(repoRoot, file), 'utf8');
  const defaults = new Map<string, string[]>();
  for (const [, schema] of services) {
    for (const [k, v] of Object.entries(schema.parse({}) as Record<string, unknown>)) {
      if (v !== undefined && typeof v !== 'object') defaults.set(k, [...(defaults.get(k) ?? []), String(v)]);
    }
  }
  const rows = [...text.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*`?([^|`\s]+)`?\s*\|/gm)]
    .map((m) => [m[1]!, m[2]!] as const)
    .filter(([name]) => defaults.has(name));

  it('has rows to check', () => {
    expect(rows.length).toBeGreaterThan(3);
  });

  it.each(rows)('%s is documented with its default %s', (name, value) => {
    expect(defaults.get(name)).toContain(value);
  });
});
