import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { adminSecret } from '../identity/admin-secret';

/**
 * Webhook signing secrets at rest. The service must sign with the secret, so it cannot keep only
 * a hash (as it does for API keys): each secret is sealed with AES-256-GCM under a key derived
 * (HKDF-SHA256) from server-side key material that never enters the database —
 * WEBHOOK_SECRET_KEY, else the admin key. A copy of the database alone reveals no secret, and the
 * row's id is authenticated with it, so a sealed secret moved to another webhook does not open.
 * Layout: version (1 byte) | IV (12) | tag (16) | ciphertext.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  private readonly key: Buffer;

  constructor(keyMaterial: string) {
    this.key = Buffer.from(hkdfSync('sha256', keyMaterial, 'solidarity-ledger', 'webhook-secret-v1', 32));
  }

  seal(secret: string, webhookId: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(webhookId));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  /** Throws when the key material changed or the row was tampered with. */
  open(sealed: Buffer, webhookId: string): string {
    if (sealed[0] !== VERSION) throw new Error('unknown webhook secret format');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(webhookId));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

/** A new signing secret: 256 random bits, shown once. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The injection token of the instance's SecretBox (null: no key material, webhooks are off). */
export const WEBHOOK_SECRET_BOX = Symbol('WEBHOOK_SECRET_BOX');

/** WEBHOOK_SECRET_KEY, else the admin key (ADMIN_API_KEY, or outside production the generated one). */
export async function secretBoxFor(config: AppConfig): Promise<SecretBox | null> {
  const material = config.webhookSecretKey ?? (await adminSecret(config))?.secret;
  return material ? new SecretBox(material) : null;
}
