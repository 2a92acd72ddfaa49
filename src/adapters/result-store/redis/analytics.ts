/**
 * Hourly analytics in Redis: one hash per hour, its fields `<field>:<queue>` counted with
 * HINCRBY, the hash expiring (PEXPIREAT) when the hour has been kept for the retention. Each
 * hash is a key of its own, so on a Redis Cluster every add and read is a single-key command
 * wherever the hour's slot lives; an add of one hour is one script (all its counters or none).
 *
 *   <prefix>:stats:<hour start, epoch ms>   hash: "<field>:<queue>" → count
 *
 * Field names are letters, digits and "_" (core/analytics/hourly.ts), so the first ":" ends the
 * field and the rest is the queue, whatever it contains.
 *
 * The per-minute counts (core/analytics/minutes.ts) are laid out the same way, one hash per
 * minute expiring once the minute has been kept long enough, added to by the same script:
 *
 *   <prefix>:minutes:<minute start, epoch ms>   hash: "completed:<queue>" | "failed:<queue>" → count
 *
 * @module
 */
import { HOUR_MS, type HourlyDelta } from '../../../core/analytics/hourly.js';
import { MINUTE_MS, minuteKeptUntil, minuteOf, oldestKeptMinute, type MinuteCount } from '../../../core/analytics/minutes.js';
import type { AnalyticsQuery, AnalyticsStore } from '../../../ports/analytics-store.js';
import { defineScript, type RedisClient, type ScriptCall } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';

/** KEYS[1] the hour's hash   ARGV[1] expire at (epoch ms)   ARGV[2..] field, amount pairs. */
const ADD = `
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`;

export class RedisAnalytics implements AnalyticsStore {
  readonly #add: ScriptCall;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly assertOpen: () => void,
  ) {
    this.#add = defineScript(client, 'hqmAnalyticsAdd', 1, ADD);
  }

  async add(deltas: readonly HourlyDelta[], retentionMs: number): Promise<void> {
    this.assertOpen();
    const now = Date.now();
    const byHour = new Map<number, Array<string | number>>();
    for (const delta of deltas) {
      if (delta.hour + HOUR_MS + retentionMs <= now) continue;
      let args = byHour.get(delta.hour);
      if (args === undefined) byHour.set(delta.hour, (args = [delta.hour + HOUR_MS + retentionMs]));
      for (const [field, n] of Object.entries(delta.fields)) args.push(`${field}:${delta.queue}`, n);
    }
    await guarded('recording analytics', Promise.all([...byHour].map(([hour, args]) => this.#add([this.#key(hour)], args))));
  }

  async read(query: AnalyticsQuery): Promise<readonly HourlyDelta[]> {
    this.assertOpen();
    const hours: number[] = [];
    for (let hour = Math.ceil(query.since / HOUR_MS) * HOUR_MS; hour < query.until; hour += HOUR_MS) hours.push(hour);
    const hashes = await guarded('reading analytics', Promise.all(hours.map((hour) => this.client.hgetall(this.#key(hour)))));
    const only = query.queue ?? null;
    const rows: HourlyDelta[] = [];
    hashes.forEach((hash, i) => {
      const byQueue = new Map<string, Record<string, number>>();
      for (const [name, value] of Object.entries(hash)) {
        const colon = name.indexOf(':');
        if (colon < 0) continue;
        const queue = name.slice(colon + 1);
        if (only !== null && queue !== only) continue;
        let fields = byQueue.get(queue);
        if (fields === undefined) byQueue.set(queue, (fields = {}));
        fields[name.slice(0, colon)] = Number(value);
      }
      for (const [queue, fields] of byQueue) rows.push({ hour: hours[i] as number, queue, fields });
    });
    return rows;
  }

  #key(hour: number): string {
    return `${this.prefix}:stats:${hour}`;
  }

  async addMinutes(counts: readonly MinuteCount[]): Promise<void> {
    this.assertOpen();
    const now = Date.now();
    const byMinute = new Map<number, Array<string | number>>();
    for (const c of counts) {
      if (minuteKeptUntil(c.minute) <= now) continue;
      let args = byMinute.get(c.minute);
      if (args === undefined) byMinute.set(c.minute, (args = [minuteKeptUntil(c.minute)]));
      if (c.completed !== 0) args.push(`completed:${c.queue}`, c.completed);
      if (c.failed !== 0) args.push(`failed:${c.queue}`, c.failed);
    }
    await guarded('recording the last minute', Promise.all([...byMinute].map(([minute, args]) => this.#add([this.#minuteKey(minute)], args))));
  }

  async minutes(since: number): Promise<readonly MinuteCount[]> {
    this.assertOpen();
    const now = Date.now();
    // Every minute still kept from `since` on, and one ahead of ours for a writer whose clock runs fast:
    // at most a handful of single-key reads.
    const keys: number[] = [];
    for (let minute = Math.max(Math.ceil(since / MINUTE_MS) * MINUTE_MS, oldestKeptMinute(now)); minute <= minuteOf(now) + MINUTE_MS; minute += MINUTE_MS) keys.push(minute);
    const hashes = await guarded('reading the last minute', Promise.all(keys.map((minute) => this.client.hgetall(this.#minuteKey(minute)))));
    const rows: MinuteCount[] = [];
    hashes.forEach((hash, i) => {
      const minute = keys[i] as number;
      if (minuteKeptUntil(minute) <= now) return;
      const byQueue = new Map<string, { minute: number; queue: string; completed: number; failed: number }>();
      for (const [name, value] of Object.entries(hash)) {
        const colon = name.indexOf(':');
        const field = name.slice(0, colon);
        if (field !== 'completed' && field !== 'failed') continue;
        const queue = name.slice(colon + 1);
        let row = byQueue.get(queue);
        if (row === undefined) byQueue.set(queue, (row = { minute, queue, completed: 0, failed: 0 }));
        row[field] = Number(value);
      }
      rows.push(...byQueue.values());
    });
    return rows;
  }

  #minuteKey(minute: number): string {
    return `${this.prefix}:minutes:${minute}`;
  }
}
