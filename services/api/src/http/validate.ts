import { z } from 'zod';
import { AppError, type ErrorDetail } from './errors.ts';

/** Zod issues → 400 details naming each bad field (`body.email`, `query.limit`, …). */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details: ErrorDetail[] = r.error.issues.map((i) => {
    const keys = i.code === 'unrecognized_keys' ? i.keys : [];
    const path = [where, ...i.path.map(String)].join('.');
    return keys.length
      ? { field: keys.map((k) => `${path}.${k}`).join(', '), message: `unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}` }
      : { field: path, message: i.message };
  });
  const first = details[0]!;
  throw new AppError('validation_failed', `${first.field}: ${first.message}`, { details });
}

/** Reusable schema pieces. */
export const idParam = z.string().regex(/^[1-9]\d{0,18}$/, 'must be a positive integer id');
export const isoDate = z.iso.date('must be an ISO date (YYYY-MM-DD)');
export const limitParam = z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(500, 'must be at most 500').default(50);
export const cursorParam = z.string().max(2000).optional();
export const boolParam = z.enum(['true', 'false']).transform((v) => v === 'true');
export const idsParams = z.strictObject({ id: idParam });
