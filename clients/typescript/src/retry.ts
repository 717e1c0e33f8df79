/**
 * Retries with exponential back-off for calls the server refused without doing anything:
 * UNAVAILABLE (a backend is down; nothing was accepted) and RESOURCE_EXHAUSTED (the tenant's
 * rate or daily quota is used up). A google.rpc.RetryInfo in the status details sets the
 * delay; otherwise it doubles from `initialBackoffMs` up to `maxBackoffMs`, with jitter.
 */
import { status as Code, type ServiceError } from "@grpc/grpc-js";

import { RetryInfo } from "./gen/google/rpc/error_details.js";
import { Status } from "./gen/google/rpc/status.js";

const RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo";

export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 200,
  maxBackoffMs: 10_000,
  multiplier: 2,
};

export const NO_RETRY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 };

/** Whether a per-item `code` of a BatchSend/SendBatch response is worth retrying. */
export function retryableCode(code: number): boolean {
  return code === Code.UNAVAILABLE || code === Code.RESOURCE_EXHAUSTED;
}

/** Whether an error of a call is worth retrying. */
export function isRetryable(error: unknown): error is ServiceError {
  return typeof error === "object" && error !== null && "code" in error
    && retryableCode((error as ServiceError).code);
}

/** The delay, in milliseconds, that a google.rpc.RetryInfo detail of the error asks for. */
export function retryInfoDelayMs(error: unknown): number | undefined {
  const metadata = (error as Partial<ServiceError> | null)?.metadata;
  const raw = metadata?.get("grpc-status-details-bin")[0];
  if (!(raw instanceof Buffer)) {
    return undefined;
  }
  const status = Status.decode(raw);
  for (const detail of status.details) {
    if (detail.typeUrl === RETRY_INFO_TYPE) {
      const delay = RetryInfo.decode(detail.value).retryDelay;
      return delay ? delay.seconds * 1000 + delay.nanos / 1e6 : 0;
    }
  }
  return undefined;
}

/** Milliseconds to wait before retry number `attempt + 1` (`attempt` counts from 0). */
export function retryDelayMs(policy: RetryPolicy, attempt: number, error?: unknown): number {
  const hint = error === undefined ? undefined : retryInfoDelayMs(error);
  if (hint !== undefined) {
    return hint * (1 + Math.random() * 0.1); // at least what the server asked
  }
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** attempt);
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Call `fn` until it succeeds, fails for good, or the attempts run out. */
export async function withRetry<T>(policy: RetryPolicy, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetryable(error) || attempt + 1 >= policy.maxAttempts) {
        throw error;
      }
      await sleep(retryDelayMs(policy, attempt, error));
    }
  }
}
