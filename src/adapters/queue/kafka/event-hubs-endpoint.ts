/**
 * The Event Hubs preset of the Kafka queue: a namespace connection string becomes the settings
 * of its Kafka endpoint. Event Hubs takes Kafka clients on port 9093 of the namespace's host,
 * over TLS, authenticated by SASL PLAIN with the user `$ConnectionString` and the whole
 * connection string as the password; an Event Hub is a topic. Pure.
 *
 * @module
 */
import { ConfigError, type FieldIssue } from '../../../core/errors.js';

const KEY = 'queue.azure_eventhubs_connection_string';
/** The Service Bus domains of Azure's clouds (public, China, US Government, Germany). */
const NAMESPACE_DOMAINS = ['.servicebus.windows.net', '.servicebus.chinacloudapi.cn', '.servicebus.usgovcloudapi.net', '.servicebus.cloudapi.de'];
export const KAFKA_PORT = 9093;

export interface EventHubsEndpoint {
  /** `<namespace host>:9093`. */
  readonly broker: string;
  /** What SASL PLAIN sends: the user `$ConnectionString`, the connection string as the password. */
  readonly sasl: { readonly mechanism: 'plain'; readonly username: '$ConnectionString'; readonly password: string };
  /** The hub the connection string is scoped to (`EntityPath`), if any. */
  readonly entityPath: string | null;
}

/** The parts of `Key=Value;…`, keys case-insensitive (values may hold `=`, as base64 keys end with it). */
function parts(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const piece of text.split(';')) {
    const at = piece.indexOf('=');
    if (at <= 0) continue;
    map.set(piece.slice(0, at).trim().toLowerCase(), piece.slice(at + 1).trim());
  }
  return map;
}

/** Reads a connection string; a ConfigError names what is missing or wrong. */
export function eventHubsEndpoint(connectionString: string, hub: string): EventHubsEndpoint {
  const text = connectionString.trim();
  const fail = (message: string): never => {
    throw new ConfigError([{ path: KEY, message } satisfies FieldIssue]);
  };
  if (text === '') fail('required for queue.type azure_eventhubs (Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=…)');
  const map = parts(text);
  const endpoint = map.get('endpoint');
  if (endpoint === undefined || endpoint === '') return fail('has no Endpoint=sb://<namespace>.servicebus.windows.net/');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return fail(`Endpoint "${endpoint}" is not a URL; expected sb://<namespace>.servicebus.windows.net/`);
  }
  if (url.protocol !== 'sb:') fail(`Endpoint "${endpoint}" is not an Event Hubs namespace endpoint: expected sb://<namespace>.servicebus.windows.net/`);
  const host = url.hostname.toLowerCase();
  const domain = NAMESPACE_DOMAINS.find((d) => host.endsWith(d) && host.length > d.length);
  if (domain === undefined) fail(`Endpoint host "${host}" is not an Event Hubs namespace (<namespace>${NAMESPACE_DOMAINS[0]}, or another Azure cloud's Service Bus domain)`);
  const signature = map.get('sharedaccesssignature');
  if (signature === undefined) {
    const missing = ['SharedAccessKeyName', 'SharedAccessKey'].filter((k) => (map.get(k.toLowerCase()) ?? '') === '');
    if (missing.length > 0) fail(`has no ${missing.join(' and no ')} (nor a SharedAccessSignature): copy the whole connection string of a shared access policy`);
  }
  const entityPath = map.get('entitypath') ?? null;
  if (entityPath !== null && entityPath !== hub) {
    fail(`is scoped to the Event Hub "${entityPath}" (EntityPath) but queue.azure_eventhubs_name is "${hub}": make them the same, or use a namespace-level connection string`);
  }
  return { broker: `${host}:${KAFKA_PORT}`, sasl: { mechanism: 'plain', username: '$ConnectionString', password: text }, entityPath };
}
