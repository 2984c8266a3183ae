/** The parts of a Postgres error that map to a client error (constraint names, SQLSTATE). */
export type PgErrorInfo = { code: string; constraint?: string; column?: string; detail?: string; message: string };

/** Returns the Postgres error fields when `e` is a server error, else undefined. */
export function pgErrorInfo(e: unknown): PgErrorInfo | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const x = e as { code?: unknown; constraint?: unknown; column?: unknown; detail?: unknown; message?: unknown };
  if (typeof x.code !== 'string' || !/^[0-9A-Z]{5}$/.test(x.code)) return undefined;
  const info: PgErrorInfo = { code: x.code, message: String(x.message ?? '') };
  if (typeof x.constraint === 'string') info.constraint = x.constraint;
  if (typeof x.column === 'string') info.column = x.column;
  if (typeof x.detail === 'string') info.detail = x.detail;
  return info;
}
