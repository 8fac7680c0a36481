import { createInbox, type MsgHdrs, type Msg, type NatsConnection, type Subscription } from "@nats-io/nats-core";

/** No reply within the request's wait. Named like nats.js's, so one classification covers both. */
export class ReplyTimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/** The server said nobody subscribes to the subject (a 503 status with no body). */
export class NoRespondersError extends Error {
  override readonly name = "NoRespondersError";
}

/** The server refused to let this connection publish the request (a permissions violation). */
export class PublishRefusedError extends Error {
  override readonly name = "PublishRefusedError";
}

/** The reply could not arrive: the connection closed, or the server refused the inbox's subscription. */
export class InboxClosedError extends Error {
  override readonly name = "InboxClosedError";
}

interface Pending {
  subject: string;
  resolve(msg: Msg): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Outgoing {
  token: string;
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

/**
 * One reply subscription per connection (`<inbox>.*`) and a map of the requests waiting on it,
 * by token. nats.js's own `request()` muxes replies the same way, but also builds a timeout
 * promise, races it, and makes an Error ("cancelled") for every request that succeeded — its
 * stack capture was the largest single cost of a request in the gateway's profile. Here a
 * successful request costs a map entry, a timer and one promise; Errors exist only for failures.
 *
 * A reply whose token is not waiting (answered late, after its timeout, or never asked) is
 * dropped. nats.js re-subscribes the inbox after a reconnect; requests still waiting then get
 * their reply or their timeout.
 */
export class ReplyInbox {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #pending = new Map<string, Pending>();
  #outbox: Outgoing[] = [];
  #sub: Subscription | null = null;
  #closed: Error | null = null;
  #next = 0;

  constructor(nc: NatsConnection, inboxPrefix?: string) {
    this.#nc = nc;
    this.#prefix = `${createInbox(inboxPrefix)}.`;
    void nc.closed().then(() => this.#close(new InboxClosedError("the NATS connection is closed")));
    void this.#watchRefusals();
  }

  /** Requests waiting for their reply. */
  get waiting(): number {
    return this.#pending.size;
  }

  /** Publishes `data` to `subject` with a reply subject of this inbox; resolves with the reply. */
  request(subject: string, data: Uint8Array, opts: { timeoutMs: number; headers?: MsgHdrs }): Promise<Msg> {
    if (this.#closed) return Promise.reject(this.#closed);
    this.#subscribe();
    // A counter is unique within the inbox, and the inbox's random prefix across connections.
    const token = (this.#next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        reject(new ReplyTimeoutError(`no reply within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      this.#pending.set(token, { subject, resolve, reject, timer });
      if (this.#outbox.length === 0) setImmediate(this.#sendOutbox);
      this.#outbox.push({ token, subject, data, headers: opts.headers });
    });
  }

  /**
   * Sends the requests made since the last turn of the event loop together. nats.js writes what
   * was published within one run of microtasks in one socket write, and a server handles each
   * HTTP request in a callback of its own: sent at once, every upload in a gateway cost one write
   * (a system call, and a wake-up of nats-server) for its request alone. One turn later, the
   * requests of every callback of that turn share one.
   */
  readonly #sendOutbox = (): void => {
    const outbox = this.#outbox;
    this.#outbox = [];
    for (const { token, subject, data, headers } of outbox) {
      // Timed out or failed while it waited: nobody hears a reply any more.
      if (!this.#pending.has(token)) continue;
      try {
        this.#nc.publish(subject, data, { reply: this.#prefix + token, headers });
      } catch (err) {
        this.#settle(token)?.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  };

  #subscribe(): void {
    if (this.#sub) return;
    this.#sub = this.#nc.subscribe(`${this.#prefix}*`, {
      callback: (err, msg) => {
        // A subscription error (a permissions violation on the inbox) ends it: nothing waiting
        // can be answered. The next request subscribes again, and hears the same error if it stays.
        if (err) this.#failAll(new InboxClosedError(`the reply subscription failed: ${err.message}`));
        else this.#deliver(msg);
      },
    });
  }

  /**
   * The server answers a publish it refuses with one error naming the subject, on the
   * connection rather than the inbox: it fails the oldest request to that subject at once
   * (as nats.js does for its own requests), instead of leaving it to its timeout.
   */
  async #watchRefusals(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type !== "error") continue;
      const err = status.error as Error & { operation?: string; subject?: string };
      if (err.name !== "PermissionViolationError" || err.operation !== "publish") continue;
      for (const [token, pending] of this.#pending) {
        if (pending.subject !== err.subject) continue;
        this.#settle(token)?.reject(new PublishRefusedError(err.message));
        break;
      }
    }
  }

  #deliver(msg: Msg): void {
    const pending = this.#settle(msg.subject.slice(this.#prefix.length));
    if (!pending) return;
    if (msg.data.length === 0 && msg.headers?.code === 503) pending.reject(new NoRespondersError("no responders"));
    else pending.resolve(msg);
  }

  /** Takes the request off the map and stops its timer; undefined when it is not waiting. */
  #settle(token: string): Pending | undefined {
    const pending = this.#pending.get(token);
    if (!pending) return undefined;
    this.#pending.delete(token);
    clearTimeout(pending.timer);
    return pending;
  }

  #close(err: Error): void {
    this.#closed ??= err;
    this.#failAll(err);
  }

  #failAll(err: Error): void {
    for (const token of [...this.#pending.keys()]) this.#settle(token)?.reject(err);
    const sub = this.#sub;
    this.#sub = null;
    if (sub && !sub.isClosed() && !this.#nc.isClosed()) sub.unsubscribe();
  }
}
