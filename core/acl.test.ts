import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { aclPermits, authenticate, digestId, fixupAcl, maskDigests } from "./acl.ts";
import { Perms } from "./types.ts";

// An independent SHA-1 (node:crypto, allowed in tests) checks the pure one core/ uses.
const nodeDigest = (userPassword: string) => {
  const sha1 = createHash("sha1").update(userPassword, "utf8").digest("base64");
  return `${userPassword.split(":")[0]}:${sha1}`;
};

describe("acl: digest ids", () => {
  it("matches user:base64(sha1(user:password)) for any credentials", () => {
    expect(digestId("super:secret")).toBe(nodeDigest("super:secret"));
    fc.assert(
      fc.property(fc.string(), fc.string(), (user, password) => {
        fc.pre(!user.includes(":"));
        expect(digestId(`${user}:${password}`)).toBe(nodeDigest(`${user}:${password}`));
      }),
    );
  });

  it("grants super only for the configured superDigest", () => {
    const superDigest = digestId("super:secret");
    expect(authenticate("digest", "super:secret", superDigest)?.map((id) => id.scheme)).toEqual([
      "super",
      "digest",
    ]);
    expect(authenticate("digest", "super:wrong", superDigest)?.map((id) => id.scheme)).toEqual([
      "digest",
    ]);
    expect(authenticate("kerberos", "x", superDigest)).toBeUndefined();
  });
});

describe("acl: checks", () => {
  const alice = { scheme: "digest", id: digestId("alice:pw") };
  const aliceAcl = [{ perms: Perms.READ | Perms.WRITE, id: alice }];

  it("world:anyone permits everyone; digest only its owner; super everything", () => {
    expect(
      aclPermits([{ perms: Perms.READ, id: { scheme: "world", id: "anyone" } }], Perms.READ, []),
    ).toBe(true);
    expect(
      aclPermits([{ perms: Perms.READ, id: { scheme: "world", id: "anyone" } }], Perms.WRITE, []),
    ).toBe(false);
    expect(aclPermits(aliceAcl, Perms.WRITE, [alice])).toBe(true);
    expect(aclPermits(aliceAcl, Perms.DELETE, [alice])).toBe(false);
    expect(aclPermits(aliceAcl, Perms.READ, [{ scheme: "digest", id: digestId("bob:pw") }])).toBe(
      false,
    );
    expect(aclPermits(aliceAcl, Perms.ADMIN, [{ scheme: "super", id: "" }])).toBe(true);
    expect(aclPermits([], Perms.ADMIN, [])).toBe(true);
  });

  it("ip ACLs match by prefix", () => {
    const acl = (id: string) => [{ perms: Perms.ALL, id: { scheme: "ip", id } }];
    const from = (ip: string) => [{ scheme: "ip", id: ip }];
    expect(aclPermits(acl("127.0.0.1"), Perms.READ, from("127.0.0.1"))).toBe(true);
    expect(aclPermits(acl("127.0.0.1"), Perms.READ, from("127.0.0.2"))).toBe(false);
    expect(aclPermits(acl("10.0.0.0/8"), Perms.READ, from("10.200.3.4"))).toBe(true);
    expect(aclPermits(acl("10.0.0.0/8"), Perms.READ, from("11.0.0.1"))).toBe(false);
    expect(aclPermits(acl("10.1.2.128/25"), Perms.READ, from("10.1.2.200"))).toBe(true);
    expect(aclPermits(acl("10.1.2.128/25"), Perms.READ, from("10.1.2.100"))).toBe(false);
    expect(aclPermits(acl("0.0.0.0/0"), Perms.READ, from("8.8.8.8"))).toBe(true);
  });

  it("fixupAcl expands auth, drops duplicates and refuses malformed ids", () => {
    const world = { perms: Perms.ALL, id: { scheme: "world", id: "anyone" } };
    expect(fixupAcl([world, world], [])).toEqual([world]);
    expect(fixupAcl([], [])).toBeUndefined();
    expect(fixupAcl([{ perms: Perms.ALL, id: { scheme: "auth", id: "" } }], [])).toBeUndefined();
    expect(
      fixupAcl(
        [{ perms: Perms.ALL, id: { scheme: "auth", id: "" } }],
        [{ scheme: "ip", id: "1.2.3.4" }],
      ),
    ).toBeUndefined();
    expect(fixupAcl([{ perms: Perms.READ, id: { scheme: "auth", id: "" } }], [alice])).toEqual([
      { perms: Perms.READ, id: alice },
    ]);
    for (const bad of ["nocolon", "a:b:c", "user:"]) {
      expect(
        fixupAcl([{ perms: Perms.ALL, id: { scheme: "digest", id: bad } }], []),
      ).toBeUndefined();
    }
    for (const bad of ["1.2.3", "1.2.3.256", "1.2.3.4/33", "host", "1.2.3.4/x"]) {
      expect(fixupAcl([{ perms: Perms.ALL, id: { scheme: "ip", id: bad } }], [])).toBeUndefined();
    }
    expect(
      fixupAcl([{ perms: Perms.ALL, id: { scheme: "unknown", id: "x" } }], []),
    ).toBeUndefined();
  });

  it("masks digest ids for readers without ADMIN", () => {
    expect(maskDigests(aliceAcl)[0]!.id.id).toBe("alice:x");
  });
});
