import { describe, expect, it } from "vitest";
import { NATS_USERS, PLATFORM_ACCOUNT, READER_ACCOUNT, READER_USER, publicEventSubjects } from "./nats-permissions.js";
import { renderNatsAccounts } from "./nats-server-config.js";

describe("the NATS server's accounts config", () => {
  it("renders the services into the platform's account with JetStream, the reader into its own importing the public events", () => {
    const conf = renderNatsAccounts((u) => ({ env: `PW_${u.length}` }));
    const [platform, reader] = conf.split(`  ${READER_ACCOUNT}: {`) as [string, string];
    expect(platform).toContain(`  ${PLATFORM_ACCOUNT}: {\n    jetstream: enabled`);
    expect(reader).not.toContain("jetstream");
    for (const user of NATS_USERS) expect(user === READER_USER ? reader : platform).toContain(`user: "${user}"`);
    for (const subject of publicEventSubjects()) {
      expect(platform).toContain(`{ stream: "${subject}", accounts: ["${READER_ACCOUNT}"] }`);
      expect(reader).toContain(`{ stream: { account: "${PLATFORM_ACCOUNT}", subject: "${subject}" } }`);
    }
    expect(platform).not.toMatch(/service:/);
    expect(conf).not.toContain("no_auth_user");
    // The only authorization block sets the login timeout; every user lives in an account.
    expect(conf.match(/authorization/g)).toEqual(["authorization"]);
    expect(conf).toMatch(/^authorization \{ timeout: \d+ \}$/m);
  });
});
