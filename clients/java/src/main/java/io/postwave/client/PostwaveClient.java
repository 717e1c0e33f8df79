package io.postwave.client;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.postwave.v1.CancelScheduledRequest;
import io.postwave.v1.CancelScheduledResponse;
import io.postwave.v1.Event;
import io.postwave.v1.EventServiceGrpc;
import io.postwave.v1.GetStatusRequest;
import io.postwave.v1.MessageStatus;
import io.postwave.v1.SendRequest;
import io.postwave.v1.SendResponse;
import io.postwave.v1.SendServiceGrpc;
import io.postwave.v1.StreamEventsRequest;
import io.postwave.v1.AdminServiceGrpc;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A client of one postwave API server.
 *
 * <p>Every call carries {@code authorization: Bearer <apiKey>}. Calls the server refused
 * without doing anything (UNAVAILABLE, RESOURCE_EXHAUSTED) are retried as the {@link
 * RetryPolicy} says. Every {@link #send} carries an idempotency key (yours, or a fresh one), so
 * a retry can never deliver twice. The generated stubs stay reachable through {@link #sends()},
 * {@link #events()} and {@link #admin()}, with the key already attached.
 *
 * <pre>{@code
 * try (PostwaveClient client = PostwaveClient.plaintext("127.0.0.1:50051", apiKey)) {
 *   SendResponse reply = client.send(request, IdempotencyKeys.of("order", "42", "receipt"));
 * }
 * }</pre>
 */
public final class PostwaveClient implements AutoCloseable {
  /** States after which a message changes no more. */
  public static final Set<String> FINAL_STATES = Set.of("delivered", "bounced", "failed", "dropped", "cancelled");

  private final ManagedChannel channel;
  private final RetryPolicy retry;
  private final Duration timeout;
  private final SendServiceGrpc.SendServiceBlockingStub sends;
  private final SendServiceGrpc.SendServiceStub sendsAsync;
  private final EventServiceGrpc.EventServiceBlockingStub events;
  private final AdminServiceGrpc.AdminServiceBlockingStub admin;

  /** A client over an existing channel (TLS or not), closing it on {@link #close()}. */
  public PostwaveClient(ManagedChannel channel, String apiKey, RetryPolicy retry, Duration timeout) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + apiKey);
    var withKey = MetadataUtils.newAttachHeadersInterceptor(headers);
    this.channel = channel;
    this.retry = retry;
    this.timeout = timeout;
    this.sends = SendServiceGrpc.newBlockingStub(channel).withInterceptors(withKey);
    this.sendsAsync = SendServiceGrpc.newStub(channel).withInterceptors(withKey);
    this.events = EventServiceGrpc.newBlockingStub(channel).withInterceptors(withKey);
    this.admin = AdminServiceGrpc.newBlockingStub(channel).withInterceptors(withKey);
  }

  /** A client of a server reached without TLS (loopback, or behind a TLS-terminating proxy). */
  public static PostwaveClient plaintext(String target, String apiKey) {
    return new PostwaveClient(
        ManagedChannelBuilder.forTarget(target).usePlaintext().build(), apiKey, RetryPolicy.DEFAULT,
        Duration.ofSeconds(30));
  }

  /** The SendService stub, with the API key attached. */
  public SendServiceGrpc.SendServiceBlockingStub sends() {
    return sends;
  }

  /** The EventService stub, with the API key attached. */
  public EventServiceGrpc.EventServiceBlockingStub events() {
    return events;
  }

  /** The AdminService stub, with the API key attached. */
  public AdminServiceGrpc.AdminServiceBlockingStub admin() {
    return admin;
  }

  /** Accept one request with a new random idempotency key (unless it has a send_id). */
  public SendResponse send(SendRequest request) {
    return send(request, null);
  }

  /** Accept one request; {@code idempotencyKey} becomes its send_id. */
  public SendResponse send(SendRequest request, String idempotencyKey) {
    SendRequest keyed = withSendId(request, idempotencyKey);
    return retry.call(() -> sends.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).send(keyed));
  }

  /**
   * Send many requests over one BatchSend stream; one response per request, in order. Items
   * without a send_id get one, so items answered UNAVAILABLE or RESOURCE_EXHAUSTED (or left
   * unanswered by a broken stream) are sent again safely, within the retry policy. Other
   * per-item errors come back as they are: check {@code getCode()} (0 = accepted).
   */
  public List<SendResponse> sendStream(List<SendRequest> requests) {
    List<SendRequest> items = requests.stream().map(r -> withSendId(r, null)).toList();
    SendResponse[] results = new SendResponse[items.size()];
    List<Integer> todo = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      todo.add(i);
    }
    for (int attempt = 0; attempt < retry.maxAttempts() && !todo.isEmpty(); attempt++) {
      Throwable failure = null;
      try {
        streamOnce(items, todo, results);
      } catch (StatusRuntimeException e) {
        if (!RetryPolicy.retryable(e) || attempt + 1 >= retry.maxAttempts()) {
          throw e;
        }
        failure = e;
      }
      todo = todo.stream().filter(i -> results[i] == null || RetryPolicy.retryableCode(results[i].getCode())).toList();
      if (todo.isEmpty() || attempt + 1 >= retry.maxAttempts()) {
        break;
      }
      RetryPolicy.sleep(retry.delay(attempt, failure));
    }
    for (int i = 0; i < results.length; i++) {
      if (results[i] == null) {
        throw new IllegalStateException("BatchSend left request " + i + " unanswered");
      }
    }
    return Arrays.asList(results);
  }

  private void streamOnce(List<SendRequest> items, List<Integer> todo, SendResponse[] results) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<SendRequest> requests = sendsAsync.batchSend(new StreamObserver<>() {
      private int next;

      @Override
      public void onNext(SendResponse reply) {
        results[todo.get(next++)] = reply;
      }

      @Override
      public void onError(Throwable error) {
        done.completeExceptionally(error);
      }

      @Override
      public void onCompleted() {
        done.complete(null);
      }
    });
    for (int i : todo) {
      requests.onNext(items.get(i));
    }
    requests.onCompleted();
    try {
      done.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StatusRuntimeException s) {
        throw s;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** A message's state, delivery attempts and events. */
  public MessageStatus getStatus(String messageId) {
    GetStatusRequest request = GetStatusRequest.newBuilder().setMessageId(messageId).build();
    return retry.call(() -> sends.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).getStatus(request));
  }

  /** Poll {@link #getStatus} until the message reaches one of {@code states}, or the timeout. */
  public MessageStatus waitForState(String messageId, Set<String> states, Duration wait) {
    Instant deadline = Instant.now().plus(wait);
    while (true) {
      MessageStatus status = getStatus(messageId);
      if (states.contains(status.getState()) || Instant.now().isAfter(deadline)) {
        return status;
      }
      RetryPolicy.sleep(Duration.ofMillis(200));
    }
  }

  /** Cancel still-scheduled messages of a send_id. */
  public CancelScheduledResponse cancelScheduled(CancelScheduledRequest request) {
    return retry.call(() -> sends.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).cancelScheduled(request));
  }

  /**
   * The tenant's events after {@code request.getCursor()}, and unless {@code no_follow} new
   * ones as they happen; a broken stream is resumed from the last event seen. Close the tail
   * (try-with-resources) to stop; {@code wait} (or null) bounds the whole tail, after which
   * {@code hasNext()} is false.
   */
  public EventTail tailEvents(StreamEventsRequest request, Duration wait) {
    return new EventTail(request, wait == null ? null : Instant.now().plus(wait));
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** An event stream that resumes after retryable failures; see {@link #tailEvents}. */
  public final class EventTail implements Iterator<Event>, AutoCloseable {
    private final StreamEventsRequest request;
    private final Instant deadline;
    private long cursor;
    private int attempt;
    private Context.CancellableContext context;
    private Iterator<Event> stream;
    private boolean finished;

    private EventTail(StreamEventsRequest request, Instant deadline) {
      this.request = request;
      this.deadline = deadline;
      this.cursor = request.getCursor();
    }

    @Override
    public boolean hasNext() {
      while (!finished) {
        try {
          if (stream == null) {
            open();
          }
          if (stream.hasNext()) {
            return true;
          }
          finished = true;
        } catch (StatusRuntimeException e) {
          closeStream();
          boolean expired = deadline != null && Instant.now().isAfter(deadline);
          if (expired || e.getStatus().getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) {
            finished = true;
          } else if (!RetryPolicy.retryable(e) || attempt + 1 >= retry.maxAttempts()) {
            throw e;
          } else {
            RetryPolicy.sleep(retry.delay(attempt++, e));
          }
        }
      }
      return false;
    }

    @Override
    public Event next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Event event = stream.next();
      cursor = event.getId();
      attempt = 0;
      return event;
    }

    private void open() {
      context = Context.current().withCancellation();
      StreamEventsRequest next = request.toBuilder().setCursor(cursor).build();
      EventServiceGrpc.EventServiceBlockingStub stub = events;
      if (deadline != null) {
        stub = stub.withDeadline(io.grpc.Deadline.after(
            Math.max(1, Duration.between(Instant.now(), deadline).toMillis()), TimeUnit.MILLISECONDS));
      }
      EventServiceGrpc.EventServiceBlockingStub bound = stub;
      try {
        stream = context.call(() -> bound.streamEvents(next));
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    private void closeStream() {
      if (context != null) {
        context.cancel(null);
        context = null;
      }
      stream = null;
    }

    @Override
    public void close() {
      finished = true;
      closeStream();
    }
  }

  static SendRequest withSendId(SendRequest request, String idempotencyKey) {
    String existing = request.getSendId();
    if (idempotencyKey != null && !existing.isEmpty() && !existing.equals(idempotencyKey)) {
      throw new IllegalArgumentException("send_id " + existing + " differs from the idempotency key " + idempotencyKey);
    }
    if (!existing.isEmpty()) {
      return request;
    }
    return request.toBuilder().setSendId(idempotencyKey != null ? idempotencyKey : IdempotencyKeys.random()).build();
  }
}
