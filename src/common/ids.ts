import { validationFailed } from './domain-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every id in this API is a UUID; anything else is refused before it reaches SQL. */
export function checkId(id: string, field = 'id'): string {
  if (typeof id !== 'string' || !UUID.test(id)) throw validationFailed(field, 'not a valid id');
  return id.toLowerCase();
}

export function checkIds(ids: readonly string[], field: string): string[] {
  return ids.map((id, i) => checkId(id, `${field}.${i}`));
}
