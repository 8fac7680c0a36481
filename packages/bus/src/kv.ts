import type { KvDef, Payload } from "@asgard/contracts";
import { StorageType } from "@nats-io/jetstream";
import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import { backoffDelayMs, sleep } from "@asgard/retry";
import { LOOP_BACKOFF } from "./backoff.js";
import { decodeJson, encodeJson, parseWith } from "./codec.js";
import { requireConnected, type BusContext } from "./context.js";
import { asBusError, BusError } from "./errors.js";
import type { TypedKv } from "./types.js";

/** How a bucket is opened: by its owner (the default), or by a user that only reads it. */
export interface OpenKvOptions {
  /**
   * False for a user that reads a bucket another service owns (and alone may create): binds
   * without a call to the server; reads fail and watches retry until the owner has made it.
   */
  readonly create?: boolean;
}

/**
 * Creates the bucket when missing, with the bus's replica count, and wraps it. An existing
 * bucket is opened as it is, except that fewer replicas than configured are raised (a bucket
 * made before the cluster grew); the rest of its settings are left to the operator.
 */
export async function openKv<D extends KvDef>(ctx: BusContext, def: D, opts: OpenKvOptions = {}): Promise<TypedKv<Payload<D>>> {
  requireConnected(ctx, `open bucket ${def.bucket}`);
  let kv: KV;
  if (opts.create === false) {
    try {
      kv = await new Kvm(ctx.js).open(def.bucket);
    } catch (err) {
      throw asBusError(err, `open bucket ${def.bucket}`);
    }
    return new TypedBucket<D>(ctx, def, kv);
  }
  try {
    kv = await new Kvm(ctx.js).create(def.bucket, {
      history: def.history,
      storage: def.storage === "memory" ? StorageType.Memory : StorageType.File,
      ttl: def.ttlMs ?? 0,
      description: def.description,
      replicas: ctx.streamReplicas,
    });
    await raiseReplicas(ctx, def.bucket);
  } catch (err) {
    throw asBusError(err, `open bucket ${def.bucket}`);
  }
  return new TypedBucket<D>(ctx, def, kv);
}

/** A bucket is the stream `KV_<bucket>`; its replicas go up in place, never down. */
async function raiseReplicas(ctx: BusContext, bucket: string): Promise<void> {
  const stream = `KV_${bucket}`;
  const info = await ctx.jsm.streams.info(stream);
  const current = info.config.num_replicas ?? 1;
  if (current >= ctx.streamReplicas) return;
  await ctx.jsm.streams.update(stream, { ...info.config, num_replicas: ctx.streamReplicas });
  ctx.logger.info({ bucket, from: current, to: ctx.streamReplicas }, "raised bucket replicas");
}

class TypedBucket<D extends KvDef> implements TypedKv<Payload<D>> {
  constructor(
    private readonly ctx: BusContext,
    private readonly def: D,
    private readonly kv: KV,
  ) {}

  async put(key: string, value: Payload<D>): Promise<number> {
    const data = parseWith(this.def.schema, value, `value of ${this.def.bucket}/${key}`);
    requireConnected(this.ctx, `put ${this.def.bucket}/${key}`);
    try {
      return await this.kv.put(key, encodeJson(data));
    } catch (err) {
      throw asBusError(err, `put ${this.def.bucket}/${key}`);
    }
  }

  async get(key: string): Promise<Payload<D> | null> {
    requireConnected(this.ctx, `get ${this.def.bucket}/${key}`);
    let entry: KvEntry | null;
    try {
      entry = await this.kv.get(key);
    } catch (err) {
      throw asBusError(err, `get ${this.def.bucket}/${key}`);
    }
    if (!entry || entry.operation !== "PUT") return null;
    try {
      return this.#decode(entry);
    } catch (err) {
      // Stored data is ours, not the caller's: a mismatch is an internal fault, not a bad request.
      throw new BusError("INTERNAL", `value of ${this.def.bucket}/${key} does not match its schema`, {
        issues: err instanceof BusError ? err.issues : undefined,
        cause: err,
      });
    }
  }

  async delete(key: string): Promise<void> {
    requireConnected(this.ctx, `delete ${this.def.bucket}/${key}`);
    try {
      await this.kv.delete(key);
    } catch (err) {
      throw asBusError(err, `delete ${this.def.bucket}/${key}`);
    }
  }

  watch(key: string, onValue: (value: Payload<D> | null) => void): { stop(): Promise<void> } {
    const { stop } = this.#follow(key, (_key, value) => onValue(value));
    return { stop };
  }

  watchAll(onEntry: (key: string, value: Payload<D> | null) => void): { ready: Promise<void>; stop(): Promise<void> } {
    return this.#follow(">", onEntry);
  }

  /**
   * Follows the keys matching `filter`: their current values first, then every update.
   * `ready` settles once the current values have all been delivered (at once for an empty
   * bucket), so a reader can tell "no such key" from "not read yet".
   */
  #follow(filter: string, onEntry: (key: string, value: Payload<D> | null) => void): { ready: Promise<void>; stop(): Promise<void> } {
    const fields = { bus: this.ctx.name, bucket: this.def.bucket, key: filter };
    const stopper = new AbortController();
    let iterator: { stop(): void } | null = null;
    let caughtUp = () => {};
    const ready = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });

    const deliver = (key: string, value: Payload<D> | null) => {
      try {
        onEntry(key, value);
      } catch (err) {
        this.ctx.logger.error({ ...fields, err }, "a watch callback threw");
      }
    };

    // nats.js ends a watch when its consumer cannot be recovered; start a new one, which
    // delivers the current values again (harmless for a "latest value" reader).
    const run = async () => {
      let failures = 0;
      while (!stopper.signal.aborted) {
        try {
          await this.ctx.state.whenConnected(stopper.signal);
          if (stopper.signal.aborted || this.ctx.state.current === "closed") return;
          if ((await this.kv.status()).values === 0) caughtUp();
          const iter = await this.kv.watch({ key: filter });
          iterator = iter;
          if (stopper.signal.aborted) iter.stop();
          failures = 0;
          for await (const entry of iter) {
            if (entry.operation === "PUT") {
              const value = this.#tryDecode(entry, fields);
              if (value !== undefined) deliver(entry.key, value);
            } else if (entry.isUpdate || filter !== entry.key) {
              deliver(entry.key, null);
            }
            if (entry.delta === 0) caughtUp();
          }
        } catch (err) {
          failures++;
          if (failures === 1) this.ctx.logger.warn({ ...fields, err }, "watching a key failed; retrying");
        }
        if (stopper.signal.aborted || this.ctx.state.current === "closed") return;
        await sleep(backoffDelayMs(failures, LOOP_BACKOFF), stopper.signal);
      }
    };
    const running = run();

    const stop = this.ctx.closers.register(async () => {
      stopper.abort();
      iterator?.stop();
      caughtUp();
      await running;
    });
    return { ready, stop };
  }

  #decode(entry: KvEntry): Payload<D> {
    const where = `value of ${this.def.bucket}/${entry.key}`;
    return parseWith(this.def.schema, decodeJson(entry.value, where), where) as Payload<D>;
  }

  /** The decoded value, or undefined (logged) when it does not match the schema. */
  #tryDecode(entry: KvEntry, fields: object): Payload<D> | undefined {
    try {
      return this.#decode(entry);
    } catch (err) {
      this.ctx.logger.error({ ...fields, revision: entry.revision, err }, "skipped a value that does not match its schema");
      return undefined;
    }
  }
}
