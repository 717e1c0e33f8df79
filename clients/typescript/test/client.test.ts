import assert from "node:assert/strict";
import { test } from "node:test";

import { Metadata, status } from "@grpc/grpc-js";

import { Any } from "../src/gen/google/protobuf/any.js";
import { RetryInfo } from "../src/gen/google/rpc/error_details.js";
import { Status } from "../src/gen/google/rpc/status.js";
import { DEFAULT_RETRY_POLICY, idempotencyKey, isRetryable, retryDelayMs, withSendId } from "../src/index.js";

test("idempotency keys agree with every other postwave client", () => {
  assert.equal(idempotencyKey("order-42", "receipt"), "pw-9296d8abecb6b4d238907c8f2e59e1095853c87b");
});

test("RetryInfo sets the delay", () => {
  const detail = Any.fromPartial({
    typeUrl: "type.googleapis.com/google.rpc.RetryInfo",
    value: Buffer.from(RetryInfo.encode({ retryDelay: { seconds: 1, nanos: 500_000_000 } }).finish()),
  });
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(Status.encode({ code: 8, message: "slow down", details: [detail] }).finish()));
  const error = Object.assign(new Error("slow down"), { code: status.RESOURCE_EXHAUSTED, details: "", metadata });
  assert.ok(isRetryable(error));
  const delay = retryDelayMs(DEFAULT_RETRY_POLICY, 0, error);
  assert.ok(delay >= 1500 && delay <= 1650, `delay ${delay}`);
});

test("back-off stays within bounds", () => {
  for (let attempt = 0; attempt < 10; attempt++) {
    const delay = retryDelayMs(DEFAULT_RETRY_POLICY, attempt);
    assert.ok(delay > 0 && delay <= DEFAULT_RETRY_POLICY.maxBackoffMs);
  }
});

test("every send carries a sendId, and a conflicting key is refused", () => {
  assert.match(withSendId({ subject: "x" }).sendId, /^pw-[0-9a-f]{32}$/);
  assert.equal(withSendId({ subject: "x" }, "k").sendId, "k");
  assert.throws(() => withSendId({ sendId: "a" }, "b"));
});
