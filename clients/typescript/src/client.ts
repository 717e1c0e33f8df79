/**
 * The postwave client: one channel, the API key on every call, and the helpers tenants need.
 */
import {
  credentials as grpcCredentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ClientOptions,
  type ServiceError,
} from "@grpc/grpc-js";

import { AdminServiceClient } from "./gen/postwave/v1/admin.js";
import { EventServiceClient, StreamEventsRequest } from "./gen/postwave/v1/events.js";
import {
  CancelScheduledRequest,
  type CancelScheduledResponse,
  type DeepPartial,
  type Event,
  GetStatusRequest,
  type MessageStatus,
  SendRequest,
  type SendResponse,
  SendServiceClient,
} from "./gen/postwave/v1/send.js";
import { newIdempotencyKey } from "./idempotency.js";
import {
  DEFAULT_RETRY_POLICY,
  isRetryable,
  retryableCode,
  retryDelayMs,
  type RetryPolicy,
  sleep,
  withRetry,
} from "./retry.js";

export const FINAL_STATES: ReadonlySet<string> = new Set(["delivered", "bounced", "failed", "dropped", "cancelled"]);

export interface ClientConfig {
  /** TLS credentials; the default is a plaintext connection. */
  credentials?: ChannelCredentials;
  retry?: RetryPolicy;
  /** Deadline of each unary call, in milliseconds. */
  timeoutMs?: number;
  channelOptions?: ClientOptions;
}

export interface TailOptions {
  cursor?: number;
  types?: string[];
  messageId?: string;
  follow?: boolean;
  /** Stop the tail when this signal aborts. */
  signal?: AbortSignal;
}

/** A request as a plain object: every field optional, `SendRequest.fromPartial` fills the rest. */
export type SendInput = DeepPartial<SendRequest>;

type Unary<Req, Res> = (
  request: Req, metadata: Metadata, options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/**
 * A client of one postwave API server.
 *
 * Every call carries `authorization: Bearer <apiKey>`. Calls the server refused without doing
 * anything (UNAVAILABLE, RESOURCE_EXHAUSTED) are retried as the policy says. Every `send`
 * carries an idempotency key (yours, or a fresh one), so a retry can never deliver twice.
 * The generated clients stay reachable as `sends`, `eventsClient` and `admin`; pass them
 * `metadata()`.
 */
export class PostwaveClient {
  readonly sends: SendServiceClient;
  readonly eventsClient: EventServiceClient;
  readonly admin: AdminServiceClient;
  readonly retry: RetryPolicy;
  private readonly apiKey: string;
  private readonly timeoutMs: number;

  constructor(target: string, apiKey: string, config: ClientConfig = {}) {
    const creds = config.credentials ?? grpcCredentials.createInsecure();
    this.sends = new SendServiceClient(target, creds, config.channelOptions);
    // The three clients share one channel.
    const shared = { ...config.channelOptions, channelOverride: this.sends.getChannel() };
    this.eventsClient = new EventServiceClient(target, creds, shared);
    this.admin = new AdminServiceClient(target, creds, shared);
    this.apiKey = apiKey;
    this.retry = config.retry ?? DEFAULT_RETRY_POLICY;
    this.timeoutMs = config.timeoutMs ?? 30_000;
  }

  /** Metadata carrying the API key. */
  metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${this.apiKey}`);
    return metadata;
  }

  close(): void {
    this.sends.close();
  }

  /** Accept one request; `idempotencyKey` (or a new random one) becomes its sendId. */
  send(request: SendInput, idempotencyKey?: string): Promise<SendResponse> {
    const message = withSendId(request, idempotencyKey);
    return this.unary(this.sends.send.bind(this.sends) as Unary<SendRequest, SendResponse>, message);
  }

  /**
   * Send many requests over one BatchSend stream; one response per request, in order.
   * Items without a sendId get one, so items answered UNAVAILABLE or RESOURCE_EXHAUSTED (or
   * left unanswered by a broken stream) are sent again safely, within the retry policy.
   * Other per-item errors are returned as they are: check `code` (0 = accepted) and `error`.
   */
  async sendStream(requests: Iterable<SendInput>): Promise<SendResponse[]> {
    const items = [...requests].map((r) => withSendId(r));
    const results: (SendResponse | undefined)[] = new Array(items.length).fill(undefined);
    let todo = items.map((_, i) => i);
    for (let attempt = 0; attempt < this.retry.maxAttempts && todo.length > 0; attempt++) {
      let failure: unknown;
      try {
        await this.streamOnce(items, todo, results);
      } catch (error) {
        if (!isRetryable(error) || attempt + 1 >= this.retry.maxAttempts) {
          throw error;
        }
        failure = error;
      }
      todo = todo.filter((i) => results[i] === undefined || retryableCode(results[i]!.code));
      if (todo.length === 0 || attempt + 1 >= this.retry.maxAttempts) {
        break;
      }
      await sleep(retryDelayMs(this.retry, attempt, failure));
    }
    const missing = results.filter((r) => r === undefined).length;
    if (missing > 0) {
      throw new Error(`BatchSend left ${missing} of ${items.length} requests unanswered`);
    }
    return results as SendResponse[];
  }

  private streamOnce(items: SendRequest[], todo: number[], results: (SendResponse | undefined)[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = this.sends.batchSend(this.metadata());
      let next = 0;
      call.on("data", (reply: SendResponse) => {
        results[todo[next++]] = reply;
      });
      call.on("error", reject);
      call.on("end", () => (next === todo.length ? resolve() : reject(new Error("BatchSend ended early"))));
      for (const i of todo) {
        call.write(items[i]);
      }
      call.end();
    });
  }

  /** A message's state, delivery attempts and events. */
  getStatus(messageId: string): Promise<MessageStatus> {
    return this.unary(
      this.sends.getStatus.bind(this.sends) as Unary<GetStatusRequest, MessageStatus>,
      GetStatusRequest.fromPartial({ messageId }),
    );
  }

  /** Poll getStatus until the message reaches one of `states`, or `timeoutMs` passes. */
  async waitForState(messageId: string, states: ReadonlySet<string> = FINAL_STATES, timeoutMs = 60_000): Promise<MessageStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.getStatus(messageId);
      if (states.has(status.state) || Date.now() >= deadline) {
        return status;
      }
      await sleep(200);
    }
  }

  /** Cancel still-scheduled messages of a sendId or a batchId. */
  cancelScheduled(target: { sendId: string } | { batchId: string }): Promise<CancelScheduledResponse> {
    return this.unary(
      this.sends.cancelScheduled.bind(this.sends) as Unary<CancelScheduledRequest, CancelScheduledResponse>,
      CancelScheduledRequest.fromPartial(target),
    );
  }

  /**
   * The tenant's events after `cursor`; with `follow` (the default), new ones as they happen.
   * A broken stream is resumed from the last event seen, so none is lost or repeated. Stop by
   * breaking out of the `for await` loop or aborting `signal`.
   */
  async *events(options: TailOptions = {}): AsyncGenerator<Event, void, undefined> {
    let cursor = options.cursor ?? 0;
    for (let attempt = 0; ;) {
      const request = StreamEventsRequest.fromPartial({
        types: options.types ?? [], messageId: options.messageId ?? "", cursor, noFollow: options.follow === false,
      });
      const call = this.eventsClient.streamEvents(request, this.metadata());
      const abort = () => call.cancel();
      options.signal?.addEventListener("abort", abort);
      try {
        for await (const event of call as AsyncIterable<Event>) {
          cursor = event.id;
          attempt = 0;
          yield event;
        }
        return;
      } catch (error) {
        if (options.signal?.aborted) {
          return;
        }
        if (!isRetryable(error) || attempt + 1 >= this.retry.maxAttempts) {
          throw error;
        }
        await sleep(retryDelayMs(this.retry, attempt, error));
        attempt++;
      } finally {
        options.signal?.removeEventListener("abort", abort);
        call.cancel();
      }
    }
  }

  private unary<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
    return withRetry(this.retry, () => new Promise<Res>((resolve, reject) => {
      method(request, this.metadata(), { deadline: Date.now() + this.timeoutMs }, (error, response) =>
        error ? reject(error) : resolve(response));
    }));
  }
}

/** A SendRequest from a plain object, with its sendId set to the key (or a new random one). */
export function withSendId(request: SendInput, idempotencyKey?: string): SendRequest {
  const message = SendRequest.fromPartial(request);
  if (idempotencyKey && message.sendId && message.sendId !== idempotencyKey) {
    throw new Error(`sendId ${message.sendId} differs from the idempotency key ${idempotencyKey}`);
  }
  message.sendId = message.sendId || idempotencyKey || newIdempotencyKey();
  return message;
}
