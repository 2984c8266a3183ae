import { z } from 'zod';
import { DUMMY_PASSWORD_HASH, verifyPassword, type Role } from '@rota/domain';
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
      const wait = await deps.loginLimiter.attempt(body.email, ip);
      if (wait > 0) throw new AppError('rate_limited', 'too many failed login attempts, try again later', { retryAfterSeconds: wait });
      const r = await deps.db.read<{ id: string; password_hash: string | null; active: boolean; role: Role }>(
        'SELECT id, password_hash, active, role FROM employees WHERE lower(email) = lower($1)', [body.email]);
      const row = r.rows[0];
      // Verify against a dummy hash when there is no account, so timing does not reveal emails.
      const ok = await verifyPassword(body.password, row?.password_hash ?? DUMMY_PASSWORD_HASH);
      if (!row || !row.password_hash || !ok || !row.active) throw new AppError('unauthenticated', 'wrong email or password');
      await deps.loginLimiter.succeeded(body.email, ip);
      const { token, expiresAt } = await issueToken(deps.tokens, row.id);
      return { json: { accessToken: token, tokenType: 'Bearer', expiresAt: expiresAt.toISOString() } };
    },
  }),
];
