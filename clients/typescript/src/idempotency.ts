/**
 * Idempotency keys: the `sendId` that makes a repeated Send return the first answer.
 *
 * postwave keeps a tenant's sendId for 24 hours: the same key with the same body returns the
 * original message ids, with a different body ALREADY_EXISTS. Derive the key from your own
 * data (`idempotencyKey("order", orderId, "receipt")`) so that a retry after a crash or a
 * timeout cannot send twice; every postwave client derives the same key from the same parts.
 */
import { createHash, randomBytes } from "node:crypto";

const PREFIX = "pw-";

/** A stable key from your own identifiers: sha256 over the parts joined by U+001F. */
export function idempotencyKey(...parts: string[]): string {
  if (parts.length === 0) {
    throw new Error("idempotencyKey needs at least one part");
  }
  return PREFIX + createHash("sha256").update(parts.join("\x1f"), "utf8").digest("hex").slice(0, 40);
}

/** A random key, for a request with no natural identity of its own. */
export function newIdempotencyKey(): string {
  return PREFIX + randomBytes(16).toString("hex");
}
