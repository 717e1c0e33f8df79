/**
 * @postwave/client: the Node.js client of postwave's gRPC API.
 *
 *     import { PostwaveClient, idempotencyKey } from "@postwave/client";
 *     const client = new PostwaveClient("127.0.0.1:50051", apiKey);
 *     const reply = await client.send(
 *       { from: "shop@example.com", subject: "Receipt", text: "Thanks",
 *         personalizations: [{ to: ["ann@example.net"] }] },
 *       idempotencyKey("order", "42", "receipt"));
 *
 * The generated messages and clients are exported too (`SendRequest`, `SendServiceClient`, ...).
 */
export { FINAL_STATES, PostwaveClient, withSendId, type ClientConfig, type SendInput, type TailOptions } from "./client.js";
export { idempotencyKey, newIdempotencyKey } from "./idempotency.js";
export {
  DEFAULT_RETRY_POLICY,
  NO_RETRY,
  isRetryable,
  retryDelayMs,
  retryInfoDelayMs,
  type RetryPolicy,
} from "./retry.js";
export * from "./gen/postwave/v1/send.js";
export { EventServiceClient, StreamEventsRequest } from "./gen/postwave/v1/events.js";
export * as admin from "./gen/postwave/v1/admin.js";
