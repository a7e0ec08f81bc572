import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppConfig } from '../config/config';
import { newSecret } from './api-key.service';

export interface AdminSecret {
  readonly secret: string;
  /** True when the key was generated and kept under the data folder, false when it is ADMIN_API_KEY. */
  readonly generated: boolean;
  /** True only at the start that generated it: the secret is printed then, and never again. */
  readonly created: boolean;
  /** Where a generated key is kept. */
  readonly file: string;
}

/** Where a generated admin key is kept: `.data/admin-api-key` by default. */
export function adminSecretFile(config: AppConfig): string {
  return join(config.dataDir, 'admin-api-key');
}

/**
 * The first admin key: ADMIN_API_KEY, else (outside production) one generated once and kept
 * under the data folder, so `npm start` and `npm run seed:demo` agree on it.
 */
export function adminSecret(config: AppConfig): Promise<AdminSecret | undefined> {
  // Asked for by several modules at start-up (the banner, webhook secrets): all share the first
  // answer, so the start that creates the key still says so when the banner asks.
  const file = adminSecretFile(config);
  const memo = `${file}\n${config.adminApiKey ?? ''}\n${config.isProduction}`;
  const known = resolved.get(memo);
  if (known) return known;
  const answer = resolveAdminSecret(config, file);
  resolved.set(memo, answer);
  return answer;
}

const resolved = new Map<string, Promise<AdminSecret | undefined>>();

async function resolveAdminSecret(config: AppConfig, file: string): Promise<AdminSecret | undefined> {
  if (config.adminApiKey) return { secret: config.adminApiKey, generated: false, created: false, file };
  if (config.isProduction) return undefined;
  if (existsSync(file)) return { secret: (await readFile(file, 'utf8')).trim(), generated: true, created: false, file };
  await mkdir(config.dataDir, { recursive: true });
  const secret = newSecret();
  await writeFile(file, secret + '\n', { mode: 0o600 });
  return { secret, generated: true, created: true, file };
}
