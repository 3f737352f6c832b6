import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Err } from "../core/errors.ts";
import type { HistoryRecord } from "./history.ts";
import { HistoryFormatError, parseHistory, recordsFromJson, serializeHistory } from "./history.ts";
import {
  classifyCompletion,
  pairedFromJson,
  pairedFromText,
  pairOperations,
  pathsOf,
} from "./operations.ts";
import { generateDefaults, generateHistory } from "./test/generate.ts";

const invoke =
  '{"type":"invoke","index":0,"process":1,"session":"0x1A","time":10,' +
  '"op":"setData","path":"/k","args":{"data":"v1","version":-1}}';
const ok =
  '{"type":"ok","index":1,"process":1,"session":"0x1a","time":25,"op":"setData","path":"/k",' +
  '"result":{"version":1,"mzxid":"0x100000003"},"zxid":"0x100000003"}';

function problem(text: string): { line: number; message: string } {
  try {
    parseHistory(text);
  } catch (error) {
    if (error instanceof HistoryFormatError) return { line: error.line, message: error.message };
    throw error;
  }
  throw new Error("expected a HistoryFormatError");
}

describe("history format: parsing", () => {
  it("parses records, canonicalizes sessions and reads zxids as bigints", () => {
    const [first, second] = parseHistory(`${invoke}\n\n${ok}\n`);
    expect(first!.session).toBe("0x1a");
    expect(first!.args).toEqual({ data: "v1", version: -1 });
    expect(second!.zxid).toBe(0x100000003n);
    expect(second!.result?.mzxid).toBe(0x100000003n);
  });

  it("reports the line of the first problem", () => {
    expect(problem(`${invoke}\n{oops`)).toEqual({ line: 2, message: "line 2: not valid JSON" });
    expect(problem(`${invoke}\n\n${ok.replace('"result"', '"reslt"')}`).message).toBe(
      "line 3: unknown field reslt",
    );
    expect(problem(invoke.replace(',"args":{"data":"v1","version":-1}', "")).message).toBe(
      "line 1: setData needs args.data",
    );
    expect(problem(ok).message).toBe("line 1: ok for process 1, which has no outstanding invoke");
    expect(problem(`${invoke}\n${invoke.replace('"index":0', '"index":1')}`).message).toBe(
      "line 2: process 1 invokes while op index 0 is outstanding",
    );
    expect(problem(`${invoke}\n${ok.replace('"index":1', '"index":0')}`).message).toBe(
      "line 2: index 0 does not increase (previous 0)",
    );
    expect(problem(`${invoke}\n${ok.replace('"zxid":"0x100000003"', '"zxid":4096')}`).message).toBe(
      'line 2: zxid must be a hex string like "0x100000003"',
    );
    expect(
      problem(
        `${invoke}\n` +
          ok
            .replace('"type":"ok"', '"type":"fail"')
            .replace('"result":{"version":1,"mzxid":"0x100000003"},', ""),
      ).message,
    ).toBe("line 2: a fail needs err (a ZooKeeper error code)");
    expect(problem(invoke.replace('"op":"setData"', '"op":"rename"')).message).toMatch(
      /^line 1: op must be one of create, delete/,
    );
    expect(problem(`${invoke}\n${ok.replace('"op":"setData"', '"op":"getData"')}`).message).toBe(
      "line 2: ok for getData answers an invoke of setData",
    );
  });

  it("accepts watch and expiry events, and requires what a watch event needs", () => {
    const event =
      '{"type":"event","process":1,"session":"0x1a","time":5,"op":"watch","path":"/k",' +
      '"result":{"event":"NodeDataChanged"},"zxid":"0x2"}';
    expect(parseHistory(event)[0]!.result?.event).toBe("NodeDataChanged");
    expect(problem(event.replace(',"result":{"event":"NodeDataChanged"}', "")).message).toBe(
      "line 1: a watch event needs result.event (e.g. NodeDataChanged)",
    );
    expect(
      parseHistory('{"type":"event","process":1,"session":"0x1a","time":5,"op":"sessionExpired"}'),
    ).toHaveLength(1);
  });

  it("validates in-memory records from a simulator, naming the record's position", () => {
    const records = recordsFromJson([
      JSON.parse(invoke),
      { ...JSON.parse(ok), result: { version: 1, ephemeralOwner: "0x05" } },
    ]);
    expect(records[1]!.result?.ephemeralOwner).toBe("0x5");
    expect(() =>
      recordsFromJson([JSON.parse(invoke), { ...JSON.parse(ok), result: { owner: "0x5" } }]),
    ).toThrow(/line 2: .*owner/);
    expect(() => recordsFromJson([{ ...JSON.parse(invoke), time: 1.5 }])).toThrow(
      "line 1: time must be an integer",
    );
  });
});

const recordArbitrary: fc.Arbitrary<HistoryRecord[]> = fc
  .array(
    fc.record({
      process: fc.integer({ min: 0, max: 5 }),
      data: fc.string(),
      version: fc.integer({ min: -1, max: 1000 }),
      zxid: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      outcome: fc.constantFrom("ok", "fail", "info"),
    }),
    { maxLength: 20 },
  )
  .map((ops) => {
    const records: HistoryRecord[] = [];
    for (const op of ops) {
      const base = {
        process: op.process,
        session: `0x${op.process + 1}`,
        op: "setData",
        path: "/a/b",
      };
      records.push({
        ...base,
        type: "invoke",
        index: records.length,
        time: records.length,
        args: { data: op.data, version: op.version },
      });
      const done: HistoryRecord = {
        ...base,
        type: op.outcome as "ok" | "fail" | "info",
        index: records.length,
        time: records.length,
      };
      if (op.outcome === "ok")
        Object.assign(done, { result: { version: op.version + 1, mzxid: op.zxid }, zxid: op.zxid });
      if (op.outcome === "fail") Object.assign(done, { err: Err.BADVERSION, zxid: op.zxid });
      records.push(done);
    }
    return records;
  });

describe("history format: serialization", () => {
  it("round-trips any valid history through JSON Lines", () => {
    fc.assert(
      fc.property(recordArbitrary, (records) => {
        const text = serializeHistory(records);
        expect(parseHistory(text)).toEqual(records);
        expect(serializeHistory(parseHistory(text))).toBe(text);
      }),
    );
  });
});

describe("operations: pairing and the meaning of error codes", () => {
  it("sorts completions into happened, no effect and indeterminate", () => {
    expect(classifyCompletion("fail", Err.BADVERSION)).toEqual({ status: "fail", modelled: true });
    expect(classifyCompletion("fail", Err.NOAUTH)).toEqual({ status: "fail", modelled: false });
    expect(classifyCompletion("fail", Err.CONNECTIONLOSS)).toEqual({
      status: "info",
      modelled: true,
    });
    expect(classifyCompletion("fail", Err.OPERATIONTIMEOUT)).toEqual({
      status: "info",
      modelled: true,
    });
    expect(classifyCompletion("fail", Err.SESSIONEXPIRED)).toEqual({
      status: "info",
      modelled: true,
    });
    expect(classifyCompletion("fail", -9999)).toEqual({ status: "info", modelled: true });
  });

  it("pairs invokes with completions; an invoke never answered is indeterminate", () => {
    const history = pairOperations(
      parseHistory(
        [
          invoke,
          ok,
          '{"type":"invoke","index":2,"process":2,"session":"0x2","time":30,"op":"create",' +
            '"path":"/q/n-","args":{"data":"","mode":"sequential"}}',
          '{"type":"ok","index":3,"process":2,"session":"0x2","time":40,"op":"create",' +
            '"path":"/q/n-","result":{"path":"/q/n-0000000004"},"zxid":"0x100000004"}',
          '{"type":"invoke","index":4,"process":1,"session":"0x1a","time":50,"op":"delete",' +
            '"path":"/k","args":{"version":-1}}',
        ].join("\n"),
      ),
    );
    expect(history.operations.map((op) => [op.id, op.op, op.status, op.completeIndex])).toEqual([
      [0, "setData", "ok", 1],
      [1, "create", "ok", 3],
      [2, "delete", "info", undefined],
    ]);
    expect(pathsOf(history.operations[1]!)).toEqual(["/q", "/q/n-0000000004"]);
    expect(history.lastIndex).toBe(4);
  });

  it("pairs while validating exactly as validating then pairing, errors included", () => {
    const records = generateHistory({ ...generateDefaults, seed: 7, ops: 2000, infoRate: 0.05 });
    // An invoke left open at the end, and an event, are paired alike too.
    const open = { ...records[0]!, index: 1e9, process: 99, session: "0x63" };
    const event = { ...open, type: "event", index: 1e9 + 1, op: "sessionExpired" };
    for (const history of [records, [...records, open, event], []]) {
      expect(pairedFromJson(history)).toEqual(pairOperations(recordsFromJson(history)));
    }
    // recordsFromJson checks every record's fields before any order rule: line 3's bad field is
    // the error, not line 2's answer to nothing.
    const bad = [
      JSON.parse(invoke),
      { ...JSON.parse(ok), process: 7 },
      { ...JSON.parse(ok), time: 1.5 },
    ];
    expect(() => recordsFromJson(bad)).toThrow("line 3: time must be an integer");
    expect(() => pairedFromJson(bad)).toThrow("line 3: time must be an integer");
  });

  it("pairs JSON Lines while parsing exactly as parsing then pairing, errors included", () => {
    const records = generateHistory({ ...generateDefaults, seed: 9, ops: 2000, infoRate: 0.05 });
    const lines = serializeHistory(records).split("\n");
    lines.splice(5, 0, "", "   "); // blank lines count as lines but hold no record
    const text = lines.join("\n");
    expect(pairedFromText(text)).toEqual(pairOperations(parseHistory(text)));
    expect(pairedFromText("")).toEqual(pairOperations([]));
    // parseHistory checks every line's fields before any order rule: line 3 is the error.
    const bad = [
      invoke,
      ok.replace('"process":1', '"process":7'),
      ok.replace('"time":25', '"time":1.5'),
    ];
    expect(() => pairedFromText(bad.join("\n"))).toThrow("line 3: time must be an integer");
    expect(() => pairedFromText(`${invoke}\n\n{oops`)).toThrow("line 3: not valid JSON");
  });
});
