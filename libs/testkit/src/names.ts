import { randomBytes } from 'node:crypto';

/** A short unique lower-case name for databases, key prefixes, queues and topics in tests. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}
