/** The API key typed into the explorer, kept in this browser's localStorage only. */
const STORAGE_KEY = 'solidarity-ledger:api-key';

export function loadKey(): string {
  try {
    return window.localStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

export function saveKey(key: string): void {
  try {
    if (key) window.localStorage.setItem(STORAGE_KEY, key);
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage may be disabled (private windows): the key then lasts until the page is closed.
  }
}
