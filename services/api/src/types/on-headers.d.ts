declare module 'on-headers' {
  import type { ServerResponse } from 'node:http';
  /** Runs `listener` just before the response head is written. */
  function onHeaders(res: ServerResponse, listener: (this: ServerResponse) => void): void;
  export = onHeaders;
}
