/** Reads counters from an OpenHQM /metrics endpoint. */
export async function counter(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Requests completed so far, from the worker's duration histogram. */
export function completed(url: string): Promise<number> {
  return counter(url, 'openhqm_worker_processing_duration_seconds_count', 'status="success"');
}
