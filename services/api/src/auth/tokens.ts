import { SignJWT, jwtVerify } from 'jose';

export type TokenSettings = { secret: string; ttlSeconds: number; issuer: string };

const ALG = 'HS256';
const AUDIENCE = 'rota-api';

export async function issueToken(s: TokenSettings, employeeId: string): Promise<{ token: string; expiresAt: Date }> {
  const nowMs = Date.now();
  const now = Math.floor(nowMs / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(employeeId)
    .setIssuer(s.issuer)
    .setAudience(AUDIENCE)
    // Milliseconds (a NumericDate may be fractional, RFC 7519 §2): a token issued just after a
    // password change must not be taken for one issued in the same second before it.
    .setIssuedAt(nowMs / 1000)
    .setExpirationTime(now + s.ttlSeconds)
    .sign(new TextEncoder().encode(s.secret));
  return { token, expiresAt: new Date((now + s.ttlSeconds) * 1000) };
}

/**
 * Verifies signature, algorithm (pinned), issuer, audience and expiry; returns the employee id,
 * when the token was issued and when it expires.
 */
export async function verifyToken(s: TokenSettings, token: string): Promise<{ employeeId: string; issuedAtMs: number; expiresAtMs: number } | undefined> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(s.secret), {
      algorithms: [ALG],
      issuer: s.issuer,
      audience: AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    if (typeof payload.sub !== 'string' || !/^\d{1,19}$/.test(payload.sub) || typeof payload.exp !== 'number' || typeof payload.iat !== 'number') return undefined;
    return { employeeId: payload.sub, issuedAtMs: Math.round(payload.iat * 1000), expiresAtMs: payload.exp * 1000 };
  } catch {
    return undefined;
  }
}
