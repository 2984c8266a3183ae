import { z } from 'zod';
import type { Role } from '@rota/domain';
import { tryPassword } from '../auth/login-limiter.ts';
import { issueToken } from '../auth/tokens.ts';
import { AppError } from '../http/errors.ts';
import { route } from '../http/route.ts';

const tokenBody = z.strictObject({
  email: z.string().trim().min(3).max(254).email('must be an email address'),
  password: z.string().min(1).max(1024),
});

export const authRoutes = [
  route({
    method: 'post',
    path: '/v1/auth/token',
    summary: 'Exchange email and password for a short-lived JWT',
    tag: 'auth',
    scope: null,
    auth: 'public',
    body: tokenBody,
    responses: {
      200: { description: 'Token issued', schema: z.object({ accessToken: z.string(), tokenType: z.literal('Bearer'), expiresAt: z.string() }) },
      401: { description: 'Wrong email or password' },
      429: { description: 'Too many failed attempts for this account or from this address (Retry-After)' },
    },
    handler: async ({ req, body, deps }) => {
      const ip = req.ip ?? 'unknown';
      let row: { id: string; password_hash: string | null; active: boolean; role: Role } | undefined;
      const ok = await tryPassword(deps.loginLimiter, body.email, ip, body.password, async () => {
        row = (await deps.db.read<NonNullable<typeof row>>('SELECT id, password_hash, active, role FROM employees WHERE lower(email) = lower($1)', [body.email])).rows[0];
        return row?.password_hash;
      });
      if (!row || !ok || !row.active) throw new AppError('unauthenticated', 'wrong email or password');
      await deps.loginLimiter.succeeded(body.email, ip);
      const { token, expiresAt } = await issueToken(deps.tokens, row.id);
      return { json: { accessToken: token, tokenType: 'Bearer', expiresAt: expiresAt.toISOString() } };
    },
  }),
];
