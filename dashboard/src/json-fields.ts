/** JSON typed into the page's text areas (the replay editor, the route simulator). Pure: unit-tested in json-fields.test.ts. */

/**
 * Each field parsed as a JSON object, or what is wrong with the first that is not one. A field
 * listed in `optional` may be left blank and is then left out.
 */
export function parseObjects(fields: Readonly<Record<string, string>>, optional: readonly string[] = []): Record<string, unknown> | string {
  const body: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(fields)) {
    if (text.trim() === '' && optional.includes(name)) continue;
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (error) {
      return `${name} is not JSON: ${(error as Error).message}`;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${name} must be a JSON object`;
    body[name] = value;
  }
  return body;
}
