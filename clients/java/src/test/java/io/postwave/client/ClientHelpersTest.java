package io.postwave.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.RetryInfo;
import io.grpc.protobuf.StatusProto;
import io.postwave.v1.SendRequest;
import java.time.Duration;
import org.junit.Test;

public class ClientHelpersTest {
  @Test
  public void idempotencyKeysAgreeWithTheOtherClients() {
    assertEquals("pw-9296d8abecb6b4d238907c8f2e59e1095853c87b", IdempotencyKeys.of("order-42", "receipt"));
    assertTrue(IdempotencyKeys.random().matches("pw-[0-9a-f]{32}"));
  }

  @Test
  public void retryInfoSetsTheDelay() {
    com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
        .setCode(Code.RESOURCE_EXHAUSTED_VALUE).setMessage("slow down")
        .addDetails(Any.pack(RetryInfo.newBuilder()
            .setRetryDelay(com.google.protobuf.Duration.newBuilder().setSeconds(1).setNanos(500_000_000)).build()))
        .build();
    RuntimeException error = StatusProto.toStatusRuntimeException(status);
    assertTrue(RetryPolicy.retryable(error));
    Duration delay = RetryPolicy.DEFAULT.delay(0, error);
    assertTrue(delay.toString(), delay.compareTo(Duration.ofMillis(1500)) >= 0 && delay.compareTo(Duration.ofMillis(1650)) <= 0);
  }

  @Test
  public void backoffStaysWithinBounds() {
    for (int attempt = 0; attempt < 10; attempt++) {
      Duration delay = RetryPolicy.DEFAULT.delay(attempt, null);
      assertFalse(delay.isNegative() || delay.compareTo(RetryPolicy.DEFAULT.maxBackoff()) > 0);
    }
  }

  @Test
  public void everySendCarriesASendId() {
    assertTrue(PostwaveClient.withSendId(SendRequest.getDefaultInstance(), null).getSendId().startsWith("pw-"));
    assertEquals("k", PostwaveClient.withSendId(SendRequest.getDefaultInstance(), "k").getSendId());
    assertThrows(IllegalArgumentException.class,
        () -> PostwaveClient.withSendId(SendRequest.newBuilder().setSendId("a").build(), "b"));
  }
}
