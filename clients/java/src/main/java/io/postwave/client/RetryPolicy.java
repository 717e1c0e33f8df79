package io.postwave.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Retries calls the server refused without doing anything: UNAVAILABLE (a backend is down,
 * nothing was accepted) and RESOURCE_EXHAUSTED (the tenant's rate or quota is used up). A
 * {@code google.rpc.RetryInfo} in the status details sets the delay; otherwise it doubles
 * from {@code initialBackoff} up to {@code maxBackoff}, with jitter.
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double multiplier) {

  /** Up to 5 attempts, starting at 200 ms. */
  public static final RetryPolicy DEFAULT =
      new RetryPolicy(5, Duration.ofMillis(200), Duration.ofSeconds(10), 2.0);

  /** Every call once. */
  public static final RetryPolicy NONE = new RetryPolicy(1, Duration.ZERO, Duration.ZERO, 1.0);

  /** Whether a status code is worth retrying (also for per-item codes of BatchSend). */
  public static boolean retryableCode(int code) {
    return code == Status.Code.UNAVAILABLE.value() || code == Status.Code.RESOURCE_EXHAUSTED.value();
  }

  /** Whether an error of a call is worth retrying. */
  public static boolean retryable(Throwable error) {
    return error != null && retryableCode(Status.fromThrowable(error).getCode().value());
  }

  /** The delay a {@code google.rpc.RetryInfo} detail of the error asks for. */
  public static Optional<Duration> retryInfoDelay(Throwable error) {
    com.google.rpc.Status status = error == null ? null : StatusProto.fromThrowable(error);
    if (status == null) {
      return Optional.empty();
    }
    for (Any detail : status.getDetailsList()) {
      if (detail.is(RetryInfo.class)) {
        try {
          com.google.protobuf.Duration d = detail.unpack(RetryInfo.class).getRetryDelay();
          return Optional.of(Duration.ofSeconds(d.getSeconds(), d.getNanos()));
        } catch (InvalidProtocolBufferException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }

  /** The wait before retry number {@code attempt + 1} ({@code attempt} counts from 0). */
  public Duration delay(int attempt, Throwable error) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    Optional<Duration> hint = retryInfoDelay(error);
    if (hint.isPresent()) {
      long nanos = hint.get().toNanos();
      return Duration.ofNanos(nanos + (long) (random.nextDouble() * 0.1 * nanos)); // at least that
    }
    double ceiling = Math.min(maxBackoff.toNanos(), initialBackoff.toNanos() * Math.pow(multiplier, attempt));
    return Duration.ofNanos((long) (ceiling / 2 + random.nextDouble() * ceiling / 2));
  }

  /** Call until it succeeds, fails for good, or the attempts run out. */
  public <T> T call(Supplier<T> call) {
    for (int attempt = 0; ; attempt++) {
      try {
        return call.get();
      } catch (RuntimeException error) {
        if (!retryable(error) || attempt + 1 >= maxAttempts) {
          throw error;
        }
        sleep(delay(attempt, error));
      }
    }
  }

  static void sleep(Duration delay) {
    try {
      Thread.sleep(delay.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("interrupted while waiting to retry").asRuntimeException();
    }
  }
}
