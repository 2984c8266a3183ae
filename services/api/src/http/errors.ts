import type { ErrorRequestHandler, RequestHandler } from 'express';
import { CursorError, pgErrorInfo } from '@rota/db';
import type { Logger } from '@rota/telemetry';
import { requestIdOf } from './context.ts';

export const ERROR_STATUS = {
  validation_failed: 400,
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  rule_violation: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export type ErrorDetail = { field?: string; message: string; rule?: string; [k: string]: unknown };

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ErrorCode, message: string, opts: { details?: ErrorDetail[]; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.details = opts.details;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: string): AppError => new AppError('not_found', `${what} not found`);
export const forbidden = (message = 'not allowed for your role or department'): AppError => new AppError('forbidden', message);

/** Constraint name → (field, message) for Postgres errors a client can cause. */
const CONSTRAINT_FIELDS: Record<string, { field: string; message: string; code?: ErrorCode }> = {
  employees_email_lower: { field: 'email', message: 'an employee with this email already exists', code: 'conflict' },
  departments_no_cycle: { field: 'parentId', message: 'a department cannot move below its own subtree', code: 'conflict' },
  departments_parent_id_fkey: { field: 'parentId', message: 'parent department does not exist' },
  departments_timezone_check: { field: 'timezone', message: 'unknown IANA time zone' },
  shift_templates_department_id_code_key: { field: 'code', message: 'a template with this code already exists in the department', code: 'conflict' },
  schedules_live_period: { field: 'periodStart', message: 'a live schedule already covers this exact period', code: 'conflict' },
};

/** Maps known Postgres errors (client-caused) to AppErrors; anything else stays a 500. */
export function fromPgError(e: unknown): AppError | undefined {
  const info = pgErrorInfo(e);
  if (!info) return undefined;
  const known = info.constraint ? CONSTRAINT_FIELDS[info.constraint] : undefined;
  if (known) return new AppError(known.code ?? 'validation_failed', known.message, { details: [{ field: known.field, message: known.message }] });
  switch (info.code) {
    case '23505': return new AppError('conflict', 'a conflicting row already exists', { details: [{ message: info.detail ?? info.message }] });
    case '23503': return new AppError('validation_failed', 'a referenced resource does not exist', { details: [{ message: info.detail ?? info.message }] });
    // check/not-null violations, bad text representation, out of range, bad date/time, bad
    // parameter, NUL or unencodable characters, string too long, row too big for an index
    case '23514': case '23502': case '22P02': case '22003': case '22007': case '22008': case '22023':
    case '22021': case '22P05': case '22001': case '54000':
      return new AppError('validation_failed', info.message, { details: [{ message: info.message, ...(info.constraint ? { constraint: info.constraint } : {}) }] });
    case '57014': return new AppError('unavailable', 'the database took too long to answer', { retryAfterSeconds: 1 });
    default: return undefined;
  }
}

function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === '57P01' || code === '57P03' ||
    /timeout exceeded when trying to connect|Connection terminated/i.test((e as Error | null)?.message ?? '');
}

/** Normalises anything thrown into an AppError. */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (e instanceof CursorError) return new AppError('validation_failed', e.message, { details: [{ field: 'cursor', message: e.message }] });
  const body = e as { type?: string; status?: number; expose?: boolean; message?: string } | null;
  if (body?.type === 'entity.too.large') return new AppError('payload_too_large', 'request body is too large');
  if (body?.type === 'entity.parse.failed') return new AppError('validation_failed', 'request body is not valid JSON', { details: [{ field: 'body', message: body.message ?? 'malformed JSON' }] });
  if (body?.type === 'encoding.unsupported' || body?.type === 'charset.unsupported') return new AppError('unsupported_media_type', body.message ?? 'unsupported encoding');
  if (typeof body?.status === 'number' && body.status >= 400 && body.status < 500 && body.expose) return new AppError('bad_request', body.message ?? 'bad request');
  const pg = fromPgError(e);
  if (pg) return pg;
  if (isConnectionError(e)) return new AppError('unavailable', 'a dependency is unavailable, try again shortly', { retryAfterSeconds: 2, cause: e });
  return new AppError('internal', 'internal error', { cause: e });
}

export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = toAppError(err);
    const requestId = requestIdOf(req);
    if (e.status >= 500) logger.error({ err, requestId, route: req.route?.path, method: req.method }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
    res.status(e.status).json({ error: { code: e.code, message: e.message, requestId, ...(e.details ? { details: e.details } : {}) } });
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
};
