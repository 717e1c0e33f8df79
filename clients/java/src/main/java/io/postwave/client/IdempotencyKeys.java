package io.postwave.client;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Idempotency keys: the {@code send_id} that makes a repeated Send return the first answer.
 *
 * <p>postwave keeps a tenant's send_id for 24 hours: the same key with the same body returns
 * the original message ids, with a different body ALREADY_EXISTS. Derive the key from your own
 * data ({@code IdempotencyKeys.of("order", orderId, "receipt")}) so a retry after a crash or a
 * timeout cannot send twice; every postwave client derives the same key from the same parts.
 */
public final class IdempotencyKeys {
  private static final String PREFIX = "pw-";
  private static final SecureRandom RANDOM = new SecureRandom();

  private IdempotencyKeys() {}

  /** A stable key from your own identifiers: sha256 over the parts joined by U+001F. */
  public static String of(String... parts) {
    if (parts.length == 0) {
      throw new IllegalArgumentException("an idempotency key needs at least one part");
    }
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(String.join("\u001f", parts).getBytes(StandardCharsets.UTF_8));
      return PREFIX + HexFormat.of().formatHex(digest).substring(0, 40);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** A random key, for a request with no natural identity of its own. */
  public static String random() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return PREFIX + HexFormat.of().formatHex(bytes);
  }
}
