/**
 * The process logger: pino JSON lines (one object per line, `correlation_id` on every line
 * about a request), or readable coloured lines when stdout is a terminal.
 *
 * @module
 */
import { pino, type Logger as PinoLogger } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'warning' | 'error' | 'critical' | 'fatal' | 'silent';

export interface LoggerOptions {
  readonly level: LogLevelName;
  readonly format: 'auto' | 'json' | 'text';
  /** Defaults to stdout. */
  readonly destination?: NodeJS.WritableStream;
}

const LEVELS: Record<LogLevelName, pino.LevelWithSilent> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  fatal: 'fatal',
  silent: 'silent',
};

export function createLogger(options: LoggerOptions): PinoLogger {
  const destination = options.destination ?? process.stdout;
  const readable = options.format === 'text' || (options.format === 'auto' && (destination as { isTTY?: boolean }).isTTY === true);
  const base: pino.LoggerOptions = {
    level: LEVELS[options.level],
    base: { service: 'openhqm', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['*.authorization', '*.Authorization', '*.password', '*.auth_token', '*.auth_password'], censor: '****' },
  };
  if (readable) {
    // Loaded only for terminals, so JSON-logging servers never pay for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino(base, pretty({ colorize: (destination as { isTTY?: boolean }).isTTY === true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service,pid', destination }));
  }
  return pino(base, destination as pino.DestinationStream);
}

export type { PinoLogger };
