import { join } from "node:path";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import type { RpcDef } from "@asgard/contracts";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { InboxClosedError, NoRespondersError, ReplyInbox, ReplyTimeoutError } from "../src/reply-inbox.js";
import type { Bus } from "../src/index.js";
import { openBus, rawConnection, signal, uid, waitFor } from "./helpers.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (msg: Msg) => decoder.decode(msg.data);

describe("the shared reply inbox", () => {
  let nc: NatsConnection;
  let responder: NatsConnection;

  beforeAll(async () => {
    nc = await rawConnection();
    responder = await rawConnection();
  });
  afterAll(async () => {
    await nc?.close();
    await responder?.close();
  });

  it("gives each of many concurrent requests its own reply, answered out of order", async () => {
    const subject = `inbox.test.${uid()}`;
    const held: Msg[] = [];
    const all = signal();
    responder.subscribe(subject, {
      callback: (_err, msg) => {
        held.push(msg);
        if (held.length === 50) all.resolve();
      },
    });
    await responder.flush();
    const inbox = new ReplyInbox(nc);
    const replies = Array.from({ length: 50 }, (_, i) => inbox.request(subject, encoder.encode(`q${i}`), { timeoutMs: 10_000 }));
    await all.promise;
    expect(inbox.waiting).toBe(50);
    // Answered last-first, so no reply can be matched by its position.
    for (const msg of held.reverse()) msg.respond(encoder.encode(`a${decoder.decode(msg.data).slice(1)}`));
    expect((await Promise.all(replies)).map(text)).toEqual(Array.from({ length: 50 }, (_, i) => `a${i}`));
    expect(inbox.waiting).toBe(0);
  });

  it("sends the requests made in one turn of the event loop together, in the order they were made", async () => {
    const subject = `inbox.test.${uid()}`;
    const seen: string[] = [];
    responder.subscribe(subject, {
      callback: (_err, msg) => {
        seen.push(text(msg));
        msg.respond(msg.data);
      },
    });
    await responder.flush();
    const inbox = new ReplyInbox(nc);
    const first = Array.from({ length: 10 }, (_, i) => inbox.request(subject, encoder.encode(`q${i}`), { timeoutMs: 10_000 }));
    await new Promise((resolve) => setImmediate(resolve));
    const second = Array.from({ length: 10 }, (_, i) => inbox.request(subject, encoder.encode(`q${10 + i}`), { timeoutMs: 10_000 }));
    expect((await Promise.all([...first, ...second])).map(text)).toEqual(Array.from({ length: 20 }, (_, i) => `q${i}`));
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `q${i}`));
    expect(inbox.waiting).toBe(0);
  });

  it("times out a request nobody answers, and drops its reply when it comes late", async () => {
    const subject = `inbox.test.${uid()}`;
    const late: Msg[] = [];
    responder.subscribe(subject, {
      callback: (_err, msg) => {
        if (text(msg) === "slow") late.push(msg);
        else msg.respond(encoder.encode(`echo ${text(msg)}`));
      },
    });
    await responder.flush();
    const inbox = new ReplyInbox(nc);
    const err = await inbox.request(subject, encoder.encode("slow"), { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplyTimeoutError);
    expect((err as Error).message).toBe("no reply within 100 ms");
    expect(inbox.waiting).toBe(0);
    // The answer arrives after the caller gave up: nobody waits for it, and the next request gets its own.
    const next = inbox.request(subject, encoder.encode("fast"), { timeoutMs: 5_000 });
    late[0]?.respond(encoder.encode("too late"));
    expect(text(await next)).toBe("echo fast");
  });

  it("says there are no responders when nobody subscribes to the subject", async () => {
    const inbox = new ReplyInbox(nc);
    const err = await inbox.request(`inbox.test.${uid()}.nobody`, encoder.encode("?"), { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoRespondersError);
    expect(inbox.waiting).toBe(0);
  });

  it("drops a reply for a token it never issued, or for one already answered", async () => {
    const subject = `inbox.test.${uid()}`;
    const first = signal<Msg>();
    let calls = 0;
    responder.subscribe(subject, {
      callback: (_err, msg) => {
        calls++;
        if (calls === 1) first.resolve(msg);
        else msg.respond(encoder.encode(`second ${text(msg)}`));
      },
    });
    await responder.flush();
    const inbox = new ReplyInbox(nc);
    const waiting = inbox.request(subject, encoder.encode("one"), { timeoutMs: 5_000 });
    const msg = await first.promise;
    const replySubject = msg.reply as string;
    const prefix = replySubject.slice(0, replySubject.lastIndexOf(".") + 1);
    // Forged replies to tokens that are not waiting: neither settles the request that is.
    responder.publish(`${prefix}nope`, encoder.encode("forged"));
    responder.publish(`${prefix}${uid()}`, encoder.encode("forged"));
    await responder.flush();
    await nc.flush();
    expect(inbox.waiting).toBe(1);
    msg.respond(encoder.encode("first answer"));
    expect(text(await waiting)).toBe("first answer");
    // A second answer to the same token finds nobody waiting; the next request is unaffected.
    responder.publish(replySubject, encoder.encode("duplicate"));
    expect(text(await inbox.request(subject, encoder.encode("two"), { timeoutMs: 5_000 }))).toBe("second two");
    expect(inbox.waiting).toBe(0);
  });

  it("fails what is waiting when the connection closes, and every request after it", async () => {
    const own = await rawConnection();
    const subject = `inbox.test.${uid()}`;
    responder.subscribe(subject, { callback: () => undefined });
    await responder.flush();
    const inbox = new ReplyInbox(own);
    const waiting = inbox.request(subject, encoder.encode("never answered"), { timeoutMs: 10_000 }).catch((e: unknown) => e);
    await own.flush();
    await own.close();
    expect(await waiting).toBeInstanceOf(InboxClosedError);
    await expect(inbox.request(subject, encoder.encode("after"), { timeoutMs: 1_000 })).rejects.toBeInstanceOf(InboxClosedError);
    expect(inbox.waiting).toBe(0);
  });
});

describe("the reply inbox across a server restart", () => {
  let server: NatsServer | undefined;
  let client: Bus | undefined;
  let serving: NatsConnection | undefined;

  afterAll(async () => {
    await client?.close();
    await serving?.close();
    await server?.stop();
  });

  it("answers requests again once the connection is back (the inbox is subscribed again)", async () => {
    server = await startNatsServer({ storeDir: join(inject("infra").workDir, `inbox-restart-${uid()}`) });
    const port = server.port;
    const Echo = z.object({ n: z.number() });
    const def: RpcDef<typeof Echo, typeof Echo> = { subject: `rpc.test.${uid()}.echo`, request: Echo, response: Echo, timeoutMs: 5_000, description: "echo" };
    client = await openBus(`inbox-restart-${uid()}`, undefined, server.url);
    // The responder is a plain connection that reconnects on its own, so only the inbox is under test.
    serving = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    serving.subscribe(def.subject, {
      callback: (_err, msg) => {
        msg.respond(encoder.encode(JSON.stringify({ ok: true, result: msg.json() })));
      },
    });
    await serving.flush();
    await expect(client.request(def, { n: 1 })).resolves.toEqual({ n: 1 });

    await server.stop();
    await waitFor("the bus to notice", () => client?.isConnected() === false);
    await expect(client.request(def, { n: 2 })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    server = await startNatsServer({ storeDir: join(inject("infra").workDir, `inbox-restart-${uid()}`), port });
    await waitFor("the reconnect", () => client?.isConnected() === true, 30_000);
    await waitFor("the responder's reconnect", () => serving?.isClosed() === false && serving.getServer() !== "", 30_000);
    // The responder's subscription may reach the new server a moment after the client's
    // reconnect: until then the inbox hears "no responders", which is an answer too.
    await waitFor("a reply through the new server", async () => (await client?.request(def, { n: 3 }).then((r) => r.n === 3).catch(() => false)) ?? false, 30_000);
    await expect(client.request(def, { n: 4 })).resolves.toEqual({ n: 4 });
  });
});
