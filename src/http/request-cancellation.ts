// A request's AbortSignal, made only when something asks for it: an
// AbortController per request cost about 5% of a small authenticated GET, and
// only long-polls need one. It fires when the client goes away, the request
// times out, or the server shuts down.
import type { ServerResponse } from 'node:http';

export class RequestCancellation {
  private controller: AbortController | null = null;
  private cancelled = false;

  constructor(private readonly res: ServerResponse) {}

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.cancelled || this.res.destroyed) this.controller.abort();
      else this.res.once('close', this.cancel);
    }
    return this.controller.signal;
  }

  readonly cancel = (): void => {
    this.cancelled = true;
    this.controller?.abort();
  };

  dispose(): void {
    if (this.controller !== null) this.res.off('close', this.cancel);
  }
}
