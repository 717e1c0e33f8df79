package io.postwave.examples;

import io.postwave.client.IdempotencyKeys;
import io.postwave.client.PostwaveClient;
import io.postwave.v1.Event;
import io.postwave.v1.MessageRef;
import io.postwave.v1.MessageStatus;
import io.postwave.v1.Personalization;
import io.postwave.v1.SendRequest;
import io.postwave.v1.SendResponse;
import io.postwave.v1.Stream;
import io.postwave.v1.StreamEventsRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * postwave quickstart: send with an idempotency key, stream a batch, read a status, tail events.
 *
 * <p>Configuration (environment): POSTWAVE_SERVER (host:port of the gRPC API, default
 * 127.0.0.1:50051), POSTWAVE_API_KEY (scopes mail.send, mail.read, events.read),
 * EXAMPLE_TO_DOMAIN, EXAMPLE_FROM, EXAMPLE_TAG (default java), EXAMPLE_BATCH (default 100).
 * Prints one JSON summary line and exits 0 when every step checked out.
 *
 * <p>Run: {@code java -cp "$(cat target/classpath.txt):target/classes" examples/Quickstart.java}
 */
public final class Quickstart {
  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }

  private static SendRequest message(String from, String to, String subject, String text) {
    return SendRequest.newBuilder().setFrom(from).setSubject(subject).setText(text)
        .addPersonalizations(Personalization.newBuilder().addTo(to)).build();
  }

  private static List<String> ids(SendResponse reply) {
    return reply.getMessagesList().stream().map(MessageRef::getMessageId).toList();
  }

  private static String json(List<String> values) {
    return values.stream().map(v -> "\"" + v + "\"").collect(Collectors.joining(",", "[", "]"));
  }

  public static void main(String[] args) {
    String domain = env("EXAMPLE_TO_DOMAIN", "example.net");
    String from = env("EXAMPLE_FROM", "Quickstart <quickstart@example.com>");
    String tag = env("EXAMPLE_TAG", "java");
    int batchSize = Integer.parseInt(env("EXAMPLE_BATCH", "100"));
    boolean ok;
    try (PostwaveClient client = PostwaveClient.plaintext(env("POSTWAVE_SERVER", "127.0.0.1:50051"),
        env("POSTWAVE_API_KEY", ""))) {
      // 1. One message with an idempotency key; sending it again returns the same answer.
      SendRequest welcome = message(from, tag + "-welcome@" + domain, "[" + tag + "] welcome",
          "Hello from the postwave quickstart.");
      String key = IdempotencyKeys.of("quickstart", tag, "welcome");
      SendResponse first = client.send(welcome, key);
      SendResponse again = client.send(welcome, key);
      String welcomeId = first.getMessages(0).getMessageId();
      boolean same = ids(first).equals(ids(again));

      // 2. A batch over one BatchSend stream: one answer per request, in order.
      List<SendRequest> batch = new ArrayList<>();
      for (int i = 0; i < batchSize; i++) {
        batch.add(message(from, tag + "-bulk-" + i + "@" + domain, "[" + tag + "] bulk " + i,
            "Message " + i + " of the batch.").toBuilder()
            .setStream(Stream.STREAM_BULK).setBatchId("quickstart-" + tag).build());
      }
      List<String> batchIds = client.sendStream(batch).stream()
          .filter(r -> r.getCode() == 0).map(r -> r.getMessages(0).getMessageId()).toList();

      // 3. The welcome message's status, once it has been delivered.
      MessageStatus status = client.waitForState(welcomeId, PostwaveClient.FINAL_STATES, Duration.ofMinutes(1));

      // 4. Tail the events until every message of this run has been delivered.
      Set<String> wanted = new HashSet<>(batchIds);
      wanted.add(welcomeId);
      Set<String> delivered = new HashSet<>();
      long cursor = 0;
      try (PostwaveClient.EventTail tail = client.tailEvents(
          StreamEventsRequest.newBuilder().addTypes("delivered").build(), Duration.ofSeconds(90))) {
        while (delivered.size() < wanted.size() && tail.hasNext()) {
          Event event = tail.next();
          cursor = event.getId();
          if (wanted.contains(event.getMessageId())) {
            delivered.add(event.getMessageId());
          }
        }
      }

      System.out.println("{\"language\":\"java\""
          + ",\"send_id\":\"" + first.getSendId() + "\""
          + ",\"welcome_message_id\":\"" + welcomeId + "\""
          + ",\"replayed_same_ids\":" + same
          + ",\"batch_accepted\":" + batchIds.size()
          + ",\"batch_message_ids\":" + json(batchIds)
          + ",\"status\":\"" + status.getState() + "\""
          + ",\"attempts\":" + status.getAttemptsCount()
          + ",\"delivered_events\":" + delivered.size()
          + ",\"last_cursor\":" + cursor
          + ",\"key_check\":\"" + IdempotencyKeys.of("order-42", "receipt") + "\"}");
      ok = same && batchIds.size() == batchSize && status.getState().equals("delivered")
          && delivered.size() == wanted.size();
    }
    System.exit(ok ? 0 : 1);
  }
}
