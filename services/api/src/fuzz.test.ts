/**
 * Property-based fuzzing of every route in the OpenAPI-generating route list: random ids, query
 * strings and JSON bodies (shaped after each route's own schema, and shapeless), as an admin and
 * as an employee. Whatever the input, the API answers with a 2xx/3xx/4xx and the error envelope —
 * never a 5xx.
 */
import fc from 'fast-check';
import { z } from 'zod';
import { expect, test as base } from 'vitest';
import { fromSchema, garbage } from './fuzz-arbitraries.ts';
import { allRoutes } from './routes/index.ts';
import { apiFixture, type TestApi } from './testing.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture() });

const RUNS_PER_ROUTE = Number(process.env['FUZZ_RUNS'] ?? 40);

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** A JSON body shaped like the route's schema (mostly valid values), or something shapeless. */
function bodyFor(schema: z.ZodType | undefined, ids: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  const shapeless = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant({}), fc.array(garbage, { maxLength: 3 }));
  if (!schema) return shapeless;
  const withExtra = fromSchema(jsonSchemaOf(schema), ids).chain((b) => fc.boolean().map((extra) =>
    extra && b && typeof b === 'object' && !Array.isArray(b) ? { ...b, unknownField: 1 } : b));
  return fc.oneof({ weight: 8, arbitrary: withExtra }, { weight: 1, arbitrary: shapeless });
}

/** A query string with a subset of the route's own parameters (mostly valid values). */
function queryFor(schema: z.ZodType | undefined, ids: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const props = (schema ? jsonSchemaOf(schema)['properties'] : undefined) as Record<string, Record<string, unknown>> | undefined;
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, v] of Object.entries(props ?? {})) record[k] = fromSchema(v, ids);
  const known = fc.record(record, { requiredKeys: [] });
  const extra = fc.option(fc.constantFrom('zzz', 'limit', 'cursor'), { freq: 5 });
  return fc.tuple(known, extra, garbage).map(([q, x, junk]) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(q)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
    if (x) out[x] = String(junk);
    return new URLSearchParams(out).toString();
  });
}

test('no input makes any route answer 5xx', { timeout: 600_000 }, async ({ api }) => {
  const admin = await api.login('admin');
  const dept = admin.departmentId;
  const employee = await api.login('employee', dept);
  const template = await api.makeTemplate({ departmentId: dept });
  const idValues = fc.oneof(fc.constantFrom(dept, admin.employeeId, employee.employeeId, template, '1', '999999999', '0', '-5', 'abc', '9223372036854775807', '99999999999999999999'), fc.string({ minLength: 1, maxLength: 12 }).map(encodeURIComponent));
  const failures: string[] = [];
  for (const r of allRoutes) {
    const params = (r.path.match(/:([A-Za-z]+)/g) ?? []).map((p) => p.slice(1));
    await fc.assert(
      fc.asyncProperty(
        fc.array(idValues, { minLength: params.length, maxLength: params.length }),
        queryFor(r.query, idValues),
        bodyFor(r.body, idValues),
        fc.boolean(),
        fc.boolean(),
        async (ids, qs, body, asEmployee, malformed) => {
          let path = r.path;
          params.forEach((p, i) => { path = path.replace(`:${p}`, ids[i]!); });
          const url = `${path}${qs ? `?${qs}` : ''}`;
          const res = await api.request(r.method.toUpperCase(), url, {
            token: asEmployee ? employee.token : admin.token,
            ...(r.method === 'get' || r.method === 'delete' ? {} : malformed
              ? { rawBody: '{"broken": ', headers: { 'content-type': 'application/json' } }
              : { body }),
          });
          if (res.status >= 500) failures.push(`${r.method.toUpperCase()} ${url} → ${res.status} ${res.text.slice(0, 200)}`);
          if (res.status >= 400) expect(res.body?.error?.code, `${r.method} ${url}`).toBeTypeOf('string');
          return res.status < 500;
        },
      ),
      { numRuns: RUNS_PER_ROUTE, seed: 42, endOnFailure: true },
    ).catch(() => {});
  }
  expect(failures).toEqual([]);
});
