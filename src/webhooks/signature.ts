import { createHmac } from 'node:crypto';

/**
 * `Ledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` (SPEC B.7).
 * The timestamp inside the signed text lets a receiver refuse old replays. The secret may be given
 * as its UTF-8 bytes and the body as the bytes sent: the signature is the same.
 */
export function signatureHeader(secret: string | Uint8Array, rawBody: string | Uint8Array, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.`).update(rawBody).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}
