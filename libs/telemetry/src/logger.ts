import { pino } from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs; constant messages with fields for the variables. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({ name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
