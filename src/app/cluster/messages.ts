/**
 * The IPC messages between the primary process and the processes it forks (node:cluster).
 * Kept tiny and typed: a ready signal, a stop request, and /metrics gathered for all.
 *
 * @module
 */

/** A forked process has started (listening, when it serves HTTP) and takes work. */
export interface ReadyMessage {
  readonly type: 'openhqm:ready';
}

/** The primary asks a process to stop gracefully (as on its own first SIGTERM). */
export interface StopMessage {
  readonly type: 'openhqm:stop';
  readonly signal: NodeJS.Signals;
}

/** A process asks the primary for the metrics of every process (one GET /metrics). */
export interface MetricsRequest {
  readonly type: 'openhqm:metrics-request';
  readonly id: number;
}

/** The primary's answer: Prometheus text, or why there is none. */
export interface MetricsReply {
  readonly type: 'openhqm:metrics-reply';
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

export type ToPrimary = ReadyMessage | MetricsRequest;
export type ToMember = StopMessage | MetricsReply;

const TYPES = new Set(['openhqm:ready', 'openhqm:stop', 'openhqm:metrics-request', 'openhqm:metrics-reply']);

/** Ours, not prom-client's or node's own cluster messages that travel the same channel. */
function ours(message: unknown): message is { type: string } {
  return typeof message === 'object' && message !== null && TYPES.has((message as { type?: unknown }).type as string);
}

export function isToPrimary(message: unknown): message is ToPrimary {
  return ours(message) && (message.type === 'openhqm:ready' || message.type === 'openhqm:metrics-request');
}

export function isToMember(message: unknown): message is ToMember {
  return ours(message) && (message.type === 'openhqm:stop' || message.type === 'openhqm:metrics-reply');
}
