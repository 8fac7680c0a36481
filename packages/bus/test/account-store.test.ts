import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { natsInboxPrefix, STREAMS } from "@asgard/contracts";
import { adoptGlobalAccountStore, localNatsAuth, startNatsServer } from "@asgard/infra";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, inject, it } from "vitest";

/**
 * A data directory from before the accounts: its streams were the global account's. After the
 * move, the platform's users find them (with their messages) where they left them.
 */
describe("the JetStream store of a deployment from before the accounts", () => {
  it("moves into the platform's account once, with its streams and messages", async () => {
    const dir = await mkdtemp(join(inject("infra").workDir, "account-store-"));
    const storeDir = join(dir, "nats");
    const stream = STREAMS.training.name;

    const open = await startNatsServer({ storeDir });
    try {
      const nc = await connect({ servers: open.url });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: stream, subjects: ["account-store.test"] });
      nc.publish("account-store.test", "queued before the upgrade");
      await nc.flush();
      await expect.poll(async () => (await jsm.streams.info(stream)).state.messages).toBe(1);
      await nc.close();
    } finally {
      await open.stop();
    }

    expect(await adoptGlobalAccountStore(storeDir)).toBe(true);
    expect(await adoptGlobalAccountStore(storeDir)).toBe(false);

    const auth = await localNatsAuth(dir);
    const secured = await startNatsServer({ storeDir, auth });
    try {
      const user = "job-scheduler";
      const nc = await connect({ servers: secured.url, user, pass: auth.passwords[user], inboxPrefix: natsInboxPrefix(user) });
      const jsm = await jetstreamManager(nc, { checkAPI: false });
      expect((await jsm.streams.info(stream)).state.messages).toBe(1);
      await nc.close();
    } finally {
      await secured.stop();
    }
  });
});
