/** `openhqm bridge mqtt`: move MQTT messages into the configured durable queue (D271). */
import type { Command } from 'commander';
import { startMqttBridge } from '../../app/bridge.js';
import { exitOnSignals, exitOnUnhandledRejection } from '../../app/shutdown.js';
import { createLogger } from '../../observability/logger.js';
import { addConfigFlags, loadFromFlags, type CommonFlags } from '../options.js';
import { fail } from './run.js';

interface MqttFlags extends CommonFlags {
  topic: string[];
  group?: string;
  clientId?: string;
  queue?: string;
}

export function registerBridgeCommand(program: Command): void {
  const bridge = program.command('bridge').description('move messages from another system into the durable queue');
  const mqtt = bridge
    .command('mqtt')
    .description('subscribe to MQTT topics (a persistent v5 session, $share/<group>/<topic>) and submit each message as a request, acknowledged once it is stored')
    .requiredOption('-t, --topic <filter>', "topic filter to bridge, + and # wildcards allowed (repeatable), e.g. 'devices/+/jobs'", (value: string, all: string[]) => [...all, value], [])
    .option('-g, --group <name>', 'shared-subscription group (queue.mqtt_share_group)')
    .option('--client-id <id>', 'MQTT client id of the session: stable and unique per bridge process (queue.mqtt_client_id; default openhqm-bridge-<group>-<hostname>)')
    .option('--queue <name>', 'named queue the requests go to (default: default)');
  addConfigFlags(mqtt);
  mqtt.action(async (flags: MqttFlags) => {
    let loaded;
    try {
      loaded = loadFromFlags(flags);
    } catch (error) {
      return fail(error);
    }
    const { config } = loaded;
    const logger = createLogger({ level: config.monitoring.log_level, format: config.monitoring.log_format });
    let stop: (() => Promise<void>) | undefined;
    exitOnUnhandledRejection(() => stop, logger);
    try {
      const running = await startMqttBridge(config, { topics: flags.topic, group: flags.group, clientId: flags.clientId, queue: flags.queue }, logger);
      stop = running.stop;
      exitOnSignals(running.stop, logger);
    } catch (error) {
      logger.flush();
      return fail(error);
    }
  });
}
