/**
 * postwave quickstart: send with an idempotency key, stream a batch, read a status, tail events.
 *
 * Configuration (environment):
 *   POSTWAVE_SERVER     host:port of the gRPC API (default 127.0.0.1:50051)
 *   POSTWAVE_API_KEY    an API key with scopes mail.send, mail.read and events.read
 *   EXAMPLE_TO_DOMAIN   domain of the recipients (default example.net)
 *   EXAMPLE_FROM        sender (default "Quickstart <quickstart@example.com>")
 *   EXAMPLE_TAG         marks subjects and recipients (default typescript)
 *   EXAMPLE_BATCH       how many messages the batch streams (default 100)
 *
 * Prints one JSON summary line and exits 0 when every step checked out.
 */
import { idempotencyKey, PostwaveClient, type SendInput, Stream } from "../src/index.js";

const env = (name: string, fallback: string): string => process.env[name] || fallback;

function message(from: string, to: string, subject: string, text: string): SendInput {
  return { from, subject, text, personalizations: [{ to: [to] }] };
}

async function main(): Promise<boolean> {
  const domain = env("EXAMPLE_TO_DOMAIN", "example.net");
  const from = env("EXAMPLE_FROM", "Quickstart <quickstart@example.com>");
  const tag = env("EXAMPLE_TAG", "typescript");
  const batchSize = Number(env("EXAMPLE_BATCH", "100"));
  const client = new PostwaveClient(env("POSTWAVE_SERVER", "127.0.0.1:50051"), env("POSTWAVE_API_KEY", ""));
  try {
    // 1. One message with an idempotency key; sending it again returns the same answer.
    const welcome = message(from, `${tag}-welcome@${domain}`, `[${tag}] welcome`, "Hello from the postwave quickstart.");
    const key = idempotencyKey("quickstart", tag, "welcome");
    const first = await client.send(welcome, key);
    const again = await client.send(welcome, key);
    const welcomeId = first.messages[0].messageId;
    const same = JSON.stringify(first.messages.map((m) => m.messageId)) === JSON.stringify(again.messages.map((m) => m.messageId));

    // 2. A batch over one BatchSend stream: one answer per request, in order.
    const batch = Array.from({ length: batchSize }, (_, i) => ({
      ...message(from, `${tag}-bulk-${i}@${domain}`, `[${tag}] bulk ${i}`, `Message ${i} of the batch.`),
      stream: Stream.STREAM_BULK,
      batchId: `quickstart-${tag}`,
    }));
    const replies = await client.sendStream(batch);
    const batchIds = replies.filter((r) => r.code === 0).map((r) => r.messages[0].messageId);

    // 3. The welcome message's status, once it has been delivered.
    const status = await client.waitForState(welcomeId);

    // 4. Tail the events until every message of this run has been delivered.
    const wanted = new Set([welcomeId, ...batchIds]);
    const delivered = new Set<string>();
    let cursor = 0;
    const signal = AbortSignal.timeout(90_000);
    for await (const event of client.events({ types: ["delivered"], signal })) {
      cursor = event.id;
      if (wanted.has(event.messageId)) {
        delivered.add(event.messageId);
      }
      if (delivered.size === wanted.size) {
        break;
      }
    }

    console.log(JSON.stringify({
      language: "typescript",
      send_id: first.sendId,
      welcome_message_id: welcomeId,
      replayed_same_ids: same,
      batch_accepted: batchIds.length,
      batch_message_ids: batchIds,
      status: status.state,
      attempts: status.attempts.length,
      delivered_events: delivered.size,
      last_cursor: cursor,
      key_check: idempotencyKey("order-42", "receipt"),
    }));
    return same && batchIds.length === batchSize && status.state === "delivered" && delivered.size === wanted.size;
  } finally {
    client.close();
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error) => {
    console.error("quickstart:", error);
    process.exit(2);
  },
);
