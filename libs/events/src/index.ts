export { EVENT_TYPES, envelopeSchema, scopesSchema, parseEvent } from './envelope.ts';
export type { ChangeEvent, EventType, EventScopes, ParseResult } from './envelope.ts';
export { recordEvent, ancestorsOf } from './outbox.ts';
export { invalidationsFor } from './invalidations.ts';
export type { NewEvent } from './outbox.ts';
