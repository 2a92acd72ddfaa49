/** Options of the `mqtt` queue: the shared `queue.mqtt_*` broker settings and the direct mode's own. */
import { z } from 'zod';
import { mqttConnectionSchema } from '../../shared/mqtt/connection.js';

export const mqttQueueOptionsSchema = mqttConnectionSchema.extend({
  /** The opt-in the adapter refuses to start without (D274). */
  mqtt_at_most_once: z.boolean().default(false),
  mqtt_share_group: z.string().regex(/^[^/+#]+$/).default('openhqm'),
  mqtt_topic_prefix: z.string().regex(/^[^+#]+$/).default('openhqm'),
  /** queue.max_message_bytes; unset: 1 MiB (Mosquitto's message_size_limit must allow it). */
  max_message_bytes: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
});

export type MqttQueueOptions = z.infer<typeof mqttQueueOptionsSchema>;

/** The topic of a queue; consumers share it as `$share/<group>/<topic>`. */
export function topicOf(options: MqttQueueOptions, queue: string): string {
  return `${options.mqtt_topic_prefix}/${queue}`;
}

/** Where the deployment secret is kept, as a retained message. */
export function secretTopic(options: MqttQueueOptions): string {
  return `${options.mqtt_topic_prefix}/_openhqm/secret`;
}
