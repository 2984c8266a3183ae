/**
 * `p`, or a rejection naming `what` if it has not settled within `ms`: for asserting that
 * something answers at all (e.g. /metrics while Redis hangs) without hanging the test.
 */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`${what} did not answer within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(t);
  }
}
