import { z } from 'zod';
import { SCOPES } from '../auth/scopes.ts';
import type { RegisteredRoute } from './route.ts';

const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    details: z.array(z.object({ field: z.string().optional(), message: z.string() }).loose()).optional(),
  }),
});

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
}

/** OpenAPI 3.1 built from the same zod schemas that validate requests. */
export function buildOpenApi(routes: readonly RegisteredRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, resp] of Object.entries(r.responses)) {
      responses[status] = {
        description: resp.description,
        ...(resp.schema ? { content: { [resp.contentType ?? 'application/json']: { schema: jsonSchema(resp.schema, 'output') } } } : {}),
      };
    }
    responses['default'] = { description: 'Error', content: { 'application/json': { schema: jsonSchema(errorSchema, 'output') } } };
    (paths[path] ??= {})[r.method] = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${path.replace(/[{}]/g, '').split('/').filter(Boolean).map((s) => s[0]!.toUpperCase() + s.slice(1)).join('')}`,
      // OpenAPI 3.1 lets a non-OAuth requirement list roles: here the API-key scope the route needs.
      ...(r.auth === 'public' ? { security: [] } : r.scope !== null ? { security: [{ bearer: [r.scope] }] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Rota API', version, description: 'Workforce scheduling: departments, employees, schedules, shifts, generation and analytics.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http', scheme: 'bearer', bearerFormat: 'JWT or rk_ API key',
          description: 'An API key created with scopes may call only the operations whose scope (listed in their security requirement) it holds; '
            + `without scopes it has its role's full access. Scopes: ${SCOPES.join(', ')}.`,
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
