import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { errors } from '../core/errors.js';

/**
 * A certificate maps to its client credential by the SHA-256 fingerprint of its DER encoding, not
 * by its subject CN: a fingerprint names exactly one certificate, while a CN can be reused by
 * another certificate (a re-issue, or any CA in the bundle). Renewing a certificate therefore
 * means registering the new one (and revoking the old).
 */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{64}$/;

/** Accepts `AB:CD:…` (openssl, Node's fingerprint256) or plain hex, any case. */
export function normalizeFingerprint(text: string): string {
  const hex = text.trim().replace(/:/g, '').toLowerCase();
  if (!FINGERPRINT_PATTERN.test(hex)) throw errors.clientCertificateInvalid('the fingerprint is not 64 hex digits');
  return hex;
}

/** Reads a PEM certificate given by an operator: its fingerprint and subject. */
export function describePem(pem: string): { fingerprint: string; subject: string } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw errors.clientCertificateInvalid('it is not a PEM-encoded X.509 certificate');
  }
  return { fingerprint: normalizeFingerprint(cert.fingerprint256), subject: cert.subject.replace(/\n/g, ', ') };
}

/** The fingerprint of the certificate a TLS client presented. */
export function peerFingerprint(cert: PeerCertificate): string | undefined {
  if (typeof cert.fingerprint256 === 'string' && cert.fingerprint256 !== '') return normalizeFingerprint(cert.fingerprint256);
  return undefined;
}
