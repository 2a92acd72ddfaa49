import { describe, expect, it } from 'vitest';
import { isHqmError } from '../../../core/errors.js';
import { topicOf } from './config.js';
import { eventHubsOptionsSchema, eventHubsSettings } from './event-hubs.js';
import { eventHubsEndpoint } from './event-hubs-endpoint.js';

const KEY = 'c2VjcmV0LWtleS13aXRoLXBhZGRpbmc=';
const VALID = `Endpoint=sb://my-ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${KEY}`;

/** The message of the ConfigError `run` throws, which must name the connection-string key. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_CONFIG');
    const message = (error as Error).message;
    expect(message).toContain('queue.azure_eventhubs_connection_string');
    return message;
  }
  throw new Error('expected a refusal');
}

describe('Event Hubs connection strings to Kafka settings', () => {
  it('turns a namespace connection string into TLS + SASL PLAIN ($ConnectionString) on port 9093 of the namespace', () => {
    const settings = eventHubsSettings(eventHubsOptionsSchema.parse({ azure_eventhubs_connection_string: VALID, azure_eventhubs_name: 'orders', azure_eventhubs_consumer_group: 'workers' }));
    expect(settings).toMatchObject({
      type: 'azure_eventhubs',
      brokers: ['my-ns.servicebus.windows.net:9093'],
      ssl: true,
      sasl: { mechanism: 'plain', username: '$ConnectionString', password: VALID },
      groupId: 'workers',
    });
    // The hub is the default queue's topic; a named queue's hub hangs off it.
    expect(topicOf(settings, 'openhqm-requests')).toBe('orders');
    expect(topicOf(settings, 'openhqm-requests.high')).toBe('orders.high');
    expect(topicOf(settings, 'openhqm-requests.webhooks')).toBe('orders.webhooks');
    expect(topicOf(settings, 'elsewhere')).toBe('elsewhere');
  });

  it('reads keys in any case and order, keeps "=" inside values, ignores a trailing ";" and accepts other Azure clouds and SAS tokens', () => {
    const shuffled = `sharedaccesskey=${KEY};ENDPOINT=sb://ns1.servicebus.chinacloudapi.cn;SharedAccessKeyName=send;`;
    expect(eventHubsEndpoint(shuffled, 'hub')).toEqual({ broker: 'ns1.servicebus.chinacloudapi.cn:9093', sasl: { mechanism: 'plain', username: '$ConnectionString', password: shuffled }, entityPath: null });
    const sas = 'Endpoint=sb://ns2.servicebus.usgovcloudapi.net/;SharedAccessSignature=SharedAccessSignature sr=x&sig=y%3D&se=1&skn=k';
    expect(eventHubsEndpoint(sas, 'hub').broker).toBe('ns2.servicebus.usgovcloudapi.net:9093');
    expect(eventHubsEndpoint(`${VALID};EntityPath=hub`, 'hub').entityPath).toBe('hub');
  });

  it('refuses an empty string, or one without an endpoint or credentials, naming what is missing', () => {
    expect(refusal(() => eventHubsEndpoint('', 'hub'))).toMatch(/required/);
    expect(refusal(() => eventHubsEndpoint(`SharedAccessKeyName=a;SharedAccessKey=${KEY}`, 'hub'))).toMatch(/no Endpoint=sb:\/\//);
    expect(refusal(() => eventHubsEndpoint('Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=a', 'hub'))).toMatch(/no SharedAccessKey\b/);
    expect(refusal(() => eventHubsEndpoint(`Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKey=${KEY}`, 'hub'))).toMatch(/no SharedAccessKeyName/);
    expect(refusal(() => eventHubsEndpoint('Endpoint=sb://ns.servicebus.windows.net/', 'hub'))).toMatch(/no SharedAccessKeyName and no SharedAccessKey/);
  });

  it('refuses a wrong endpoint: another scheme, a host outside the Service Bus domains, a bare domain, not a URL', () => {
    expect(refusal(() => eventHubsEndpoint(`Endpoint=https://ns.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`, 'hub'))).toMatch(/not an Event Hubs namespace endpoint/);
    expect(refusal(() => eventHubsEndpoint(`Endpoint=sb://kafka.example.com/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`, 'hub'))).toMatch(/"kafka\.example\.com" is not an Event Hubs namespace/);
    expect(refusal(() => eventHubsEndpoint(`Endpoint=sb://servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`, 'hub'))).toMatch(/is not an Event Hubs namespace/);
    expect(refusal(() => eventHubsEndpoint(`Endpoint=my-ns.servicebus.windows.net;SharedAccessKeyName=a;SharedAccessKey=${KEY}`, 'hub'))).toMatch(/is not a URL/);
  });

  it('refuses a connection string scoped to another hub than queue.azure_eventhubs_name', () => {
    expect(refusal(() => eventHubsEndpoint(`${VALID};EntityPath=other`, 'orders'))).toMatch(/"other".*"orders"/);
  });

  it('keeps the tuning keys and caps a message at Event Hubs\' 1 MB', () => {
    const options = eventHubsOptionsSchema.parse({ azure_eventhubs_connection_string: VALID, delay_tiers: 3, partitions: 32, session_timeout_ms: 10_000 });
    expect(eventHubsSettings(options)).toMatchObject({ delayTiers: 3, partitions: 32, sessionTimeoutMs: 10_000, maxMessageBytes: 1_000_000 });
    expect(eventHubsOptionsSchema.safeParse({ max_message_bytes: 2_000_000 }).success).toBe(false);
  });
});
