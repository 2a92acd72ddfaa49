/**
 * The deployment secret of the `mqtt` queue, kept as a retained message: a process reads the
 * retained one, or retains a candidate when there is none and takes the first secret the
 * broker hands back. Two processes that both find none at the same moment may end up with
 * different secrets (retained keeps the last write); `queue.id_secret` avoids that (D274).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { HqmError } from '../../../core/errors.js';
import { translateMqttError } from '../../shared/mqtt/connection.js';

const PATIENCE_MS = 10_000;

export async function readSecret(client: MqttClient, topic: string, candidate: () => string): Promise<string> {
  // A message to ourselves after the subscription: the broker sends the retained secret, if
  // any, before it, so the echo arriving first means there is none.
  const echo = `${topic}/echo/${randomUUID()}`;
  let answer: (value: string | undefined) => void = () => undefined;
  const next = (): Promise<string | undefined> => new Promise((resolve) => (answer = resolve));
  const onMessage = (t: string, payload: Buffer): void => {
    if (t === topic && payload.length > 0) answer(payload.toString('utf8'));
    else if (t === echo) answer(undefined);
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `reading the deployment secret: no answer from the MQTT broker on ${topic}`)), PATIENCE_MS);
  });
  client.on('message', onMessage);
  try {
    let seen = next();
    await client.subscribeAsync([topic, echo], { qos: 1 });
    await client.publishAsync(echo, 'echo', { qos: 1 });
    const found = await Promise.race([seen, deadline]);
    if (found !== undefined) return found;
    seen = next();
    await client.publishAsync(topic, candidate(), { qos: 1, retain: true });
    // Ours, or another process's that the broker took first.
    return (await Promise.race([seen, deadline])) as string;
  } catch (error) {
    throw translateMqttError(error, 'reading the deployment secret');
  } finally {
    clearTimeout(timer);
    client.off('message', onMessage);
    await client.unsubscribeAsync([topic, echo]).catch(() => undefined);
  }
}
