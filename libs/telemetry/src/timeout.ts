/**
 * `p`, or a rejection `<what> timed out after <ms> ms` if it has not settled by then; the timer
 * is cleared either way. For calls to a dependency that may hang (a probe, a scrape-time read,
 * an enqueue) where an answer without it beats waiting.
 */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(t);
  }
}
