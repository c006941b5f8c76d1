import { randomUUID } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { ClientCredentialChange, EventBus, TetherEvent } from '../bus/bus.js';
import { type Clock, systemClock } from '../core/clock.js';
import { errors } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';
import { KeyedSerial } from '../core/serial.js';
import type { Applications, Registry } from '../core/services.js';
import type { ClientCredentialKind, ClientCredentialRecord, ClientCredentialStatus } from '../core/types.js';
import type { ClientCredentialStore } from '../storage/storage.js';
import { describePem, normalizeFingerprint, peerFingerprint } from './certificate.js';
import { generatePassword, hashPassword, verifyPassword } from './password.js';
import { modeOf } from './policy.js';
import { type ClientAuthConfig, type ClientAuthMode, type ClientCredentialView, type ClientIdentity, credentialView, identityOf } from './types.js';
import { VerifyCache } from './verify-cache.js';

export const USERNAME_PATTERN = /^[A-Za-z0-9_.@:+-]{1,128}$/;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

export interface CreateClientCredentialInput {
  applicationName: string;
  kind: ClientCredentialKind;
  /** basic */
  username?: string;
  /** basic: generated (and returned once) when absent. */
  password?: string;
  /** x509: a PEM certificate, or its SHA-256 fingerprint. */
  certificate?: string;
  certificateFingerprint?: string;
  /** Gateway binding: endpoint IDs of the same application. */
  endpoints?: string[];
  description?: string;
}

export type StatusAction = 'suspend' | 'reactivate' | 'revoke';

/** What the transport knows about a connection's TLS peer (structurally, transport/peer.ts TransportPeer). */
export interface PeerInfo {
  certificate: PeerCertificate | undefined;
  authorized: boolean;
  authorizationError: string | undefined;
}

export interface ConnectAttempt {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  peer: PeerInfo | undefined;
}

/** Why a CONNECT was refused, as logged (never with the secret). */
export type RefusalReason =
  | 'no credentials'
  | 'unknown user'
  | 'wrong password'
  | 'suspended'
  | 'revoked'
  | 'no client certificate'
  | 'invalid client certificate'
  | 'unknown client certificate';

export type ConnectOutcome = { ok: true; identity: ClientIdentity | undefined } | { ok: false; reason: RefusalReason };

export interface ClientAuthService {
  readonly config: ClientAuthConfig;
  modeOf(applicationName: string): ClientAuthMode;
  createCredential(input: CreateClientCredentialInput): Promise<{ credential: ClientCredentialView; password?: string }>;
  listCredentials(applicationName?: string): Promise<ClientCredentialView[]>;
  getCredential(credentialId: string): Promise<ClientCredentialView>;
  /** suspend: ACTIVE -> SUSPENDED; reactivate: SUSPENDED -> ACTIVE; revoke: ACTIVE|SUSPENDED -> REVOKED (final). */
  changeStatus(credentialId: string, action: StatusAction): Promise<ClientCredentialView>;
  /** Replaces the gateway binding ([] removes it). Sessions authenticated with the credential are ended. */
  bindEndpoints(credentialId: string, endpointIds: string[]): Promise<ClientCredentialView>;
  deleteCredential(credentialId: string): Promise<void>;
  /** The CONNECT check under the global mode. Logs refusals with their reason. */
  authenticate(attempt: ConnectAttempt): Promise<ConnectOutcome>;
  /** The current record behind an identity, if it is still ACTIVE. */
  stillActive(credentialId: string): Promise<boolean>;
  close(): void;
}

export interface ClientAuthDeps {
  store: ClientCredentialStore;
  bus: EventBus;
  applications: Applications;
  registry: Registry;
  config?: ClientAuthConfig;
  clock?: Clock;
  logger?: Logger;
  /** How long a verified password is remembered (default 60 s). */
  verifyCacheTtlMs?: number;
}

const CHANGE_OF: Record<StatusAction, ClientCredentialChange> = { suspend: 'suspended', reactivate: 'reactivated', revoke: 'revoked' };

function nextStatus(from: ClientCredentialStatus, action: StatusAction): ClientCredentialStatus {
  if (action === 'suspend' && from === 'ACTIVE') return 'SUSPENDED';
  if (action === 'reactivate' && from === 'SUSPENDED') return 'ACTIVE';
  if (action === 'revoke' && from !== 'REVOKED') return 'REVOKED';
  throw errors.clientCredentialTransitionInvalid(from, action);
}

/**
 * Kaa CM client credentials and the CONNECT check (16/ECAP "client authentication"): MQTT
 * username/password (basic) and client certificates (x509), each ACTIVE, SUSPENDED or REVOKED.
 * Every change that must end sessions is published as `client-credential.changed` on the bus, so
 * the transports of every node disconnect the sessions authenticated with it.
 */
export function createClientAuth(deps: ClientAuthDeps): ClientAuthService {
  const { store, bus } = deps;
  const config: ClientAuthConfig = deps.config ?? { mode: 'anonymous' };
  const clock = deps.clock ?? systemClock;
  const logger = (deps.logger ?? silentLogger).child({ part: 'client-auth' });
  const cache = new VerifyCache(clock, deps.verifyCacheTtlMs);
  const perCredential = new KeyedSerial();

  const unsubscribe = bus.subscribe((event: TetherEvent) => {
    // Another node may have changed it: a cached password check must not outlive a status change.
    if (event.type === 'client-credential.changed') cache.invalidate(event.credentialId);
  });

  async function publish(record: ClientCredentialRecord, change: ClientCredentialChange, at: string): Promise<void> {
    cache.invalidate(record.credentialId);
    await bus
      .publish({ type: 'client-credential.changed', credentialId: record.credentialId, applicationName: record.applicationName, change, at })
      .catch((err: unknown) => logger.error({ err, credentialId: record.credentialId }, 'failed to publish client-credential.changed'));
  }

  async function existing(credentialId: string): Promise<ClientCredentialRecord> {
    const record = await store.get(credentialId);
    if (!record) throw errors.clientCredentialNotFound(credentialId);
    return record;
  }

  async function checkEndpoints(applicationName: string, endpointIds: string[]): Promise<string[]> {
    const unique = [...new Set(endpointIds)];
    for (const endpointId of unique) {
      const endpoint = await deps.registry.getEndpoint(endpointId, false);
      if (endpoint.applicationName !== applicationName) {
        throw errors.validation(`endpoint ${JSON.stringify(endpointId)} belongs to application ${JSON.stringify(endpoint.applicationName)}; a credential can only be bound to endpoints of its own application`);
      }
    }
    return unique;
  }

  function refuse(attempt: ConnectAttempt, reason: RefusalReason, extra: Record<string, unknown> = {}): ConnectOutcome {
    // The username and credential ID help an operator; the password never appears.
    logger.warn(
      { reason, clientId: attempt.clientId, mode: config.mode, ...(attempt.username !== undefined && { username: attempt.username }), ...extra },
      `client authentication failed: ${reason}`,
    );
    return { ok: false, reason };
  }

  function unusable(attempt: ConnectAttempt, record: ClientCredentialRecord): ConnectOutcome | undefined {
    if (record.status === 'SUSPENDED') return refuse(attempt, 'suspended', { credentialId: record.credentialId });
    if (record.status === 'REVOKED') return refuse(attempt, 'revoked', { credentialId: record.credentialId });
    return undefined;
  }

  async function byPassword(attempt: ConnectAttempt): Promise<ConnectOutcome> {
    const username = attempt.username;
    if (username === undefined || username === '') return refuse(attempt, 'no credentials');
    const record = await store.findByUsername(username);
    if (!record || record.kind !== 'basic' || record.passwordHash === null) return refuse(attempt, 'unknown user');
    const password = attempt.password?.toString('utf8') ?? '';
    const hash = record.passwordHash;
    const ok = await cache.check(record.credentialId, password, () => verifyPassword(password, hash));
    // The password is checked before the status, so a suspended credential is only reported to
    // someone who knows its password.
    if (!ok) return refuse(attempt, 'wrong password', { credentialId: record.credentialId });
    return unusable(attempt, record) ?? { ok: true, identity: identityOf(record) };
  }

  async function byCertificate(attempt: ConnectAttempt, required: boolean): Promise<ConnectOutcome | undefined> {
    const peer = attempt.peer;
    if (!peer?.certificate) return required ? refuse(attempt, 'no client certificate') : undefined;
    if (!peer.authorized) {
      return required ? refuse(attempt, 'invalid client certificate', { tlsError: peer.authorizationError ?? 'not verified against tls.ca' }) : undefined;
    }
    const fingerprint = peerFingerprint(peer.certificate);
    const record = fingerprint === undefined ? undefined : await store.findByFingerprint(fingerprint);
    if (!record || record.kind !== 'x509') {
      return required ? refuse(attempt, 'unknown client certificate', { fingerprint, subject: peer.certificate.subject?.CN }) : undefined;
    }
    return unusable(attempt, record) ?? { ok: true, identity: identityOf(record) };
  }

  return {
    config,
    modeOf: (applicationName) => modeOf(config, applicationName),

    async createCredential(input) {
      await deps.applications.getApplication(input.applicationName);
      const endpoints = await checkEndpoints(input.applicationName, input.endpoints ?? []);
      const at = clock.iso();
      const base: ClientCredentialRecord = {
        credentialId: randomUUID(),
        applicationName: input.applicationName,
        kind: input.kind,
        username: null,
        passwordHash: null,
        certificateFingerprint: null,
        certificateSubject: null,
        boundEndpoints: endpoints,
        status: 'ACTIVE',
        description: input.description ?? '',
        createdDate: at,
        statusUpdatedDate: at,
      };
      let generated: string | undefined;
      if (input.kind === 'basic') {
        if (input.certificate !== undefined || input.certificateFingerprint !== undefined) throw errors.validation('a basic credential takes a username and password, not a certificate');
        if (input.username === undefined || !USERNAME_PATTERN.test(input.username)) {
          throw errors.validation('username must be 1-128 characters from A-Z a-z 0-9 _ . @ : + -');
        }
        const password = input.password ?? (generated = generatePassword());
        if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH || /[\u0000-\u001f\u007f]/.test(password)) {
          throw errors.validation(`password must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters without control characters (leave it out to have one generated)`);
        }
        if (await store.findByUsername(input.username)) throw errors.clientCredentialTaken(`Username ${JSON.stringify(input.username)}`);
        base.username = input.username;
        base.passwordHash = await hashPassword(password);
      } else {
        if (input.username !== undefined || input.password !== undefined) throw errors.validation('an x509 credential takes a certificate, not a username or password');
        if (input.certificate !== undefined) {
          const described = describePem(input.certificate);
          if (input.certificateFingerprint !== undefined && normalizeFingerprint(input.certificateFingerprint) !== described.fingerprint) {
            throw errors.clientCertificateInvalid('certificateFingerprint does not match the certificate');
          }
          base.certificateFingerprint = described.fingerprint;
          base.certificateSubject = described.subject;
        } else if (input.certificateFingerprint !== undefined) {
          base.certificateFingerprint = normalizeFingerprint(input.certificateFingerprint);
        } else {
          throw errors.clientCertificateInvalid('no certificate was given');
        }
      }
      await store.insert(base);
      logger.info({ credentialId: base.credentialId, applicationName: base.applicationName, kind: base.kind, boundEndpoints: endpoints.length }, 'client credential created');
      return { credential: credentialView(base), ...(generated !== undefined && { password: generated }) };
    },

    async listCredentials(applicationName) {
      if (applicationName !== undefined) await deps.applications.getApplication(applicationName);
      return (await store.list(applicationName)).map(credentialView);
    },

    async getCredential(credentialId) {
      return credentialView(await existing(credentialId));
    },

    changeStatus(credentialId, action) {
      return perCredential.run(credentialId, async () => {
        const current = await existing(credentialId);
        const status = nextStatus(current.status, action);
        const at = clock.iso();
        if (!(await store.updateStatus(credentialId, status, at))) throw errors.clientCredentialNotFound(credentialId);
        const updated = { ...current, status, statusUpdatedDate: at };
        logger.info({ credentialId, from: current.status, status }, 'client credential status changed');
        await publish(updated, CHANGE_OF[action], at);
        return credentialView(updated);
      });
    },

    bindEndpoints(credentialId, endpointIds) {
      return perCredential.run(credentialId, async () => {
        const current = await existing(credentialId);
        const endpoints = await checkEndpoints(current.applicationName, endpointIds);
        if (!(await store.updateBoundEndpoints(credentialId, endpoints))) throw errors.clientCredentialNotFound(credentialId);
        const updated = { ...current, boundEndpoints: endpoints };
        logger.info({ credentialId, boundEndpoints: endpoints.length }, 'client credential endpoints bound');
        await publish(updated, 'endpoints-bound', clock.iso());
        return credentialView(updated);
      });
    },

    deleteCredential(credentialId) {
      return perCredential.run(credentialId, async () => {
        const current = await existing(credentialId);
        if (!(await store.delete(credentialId))) throw errors.clientCredentialNotFound(credentialId);
        logger.info({ credentialId }, 'client credential deleted');
        await publish(current, 'deleted', clock.iso());
      });
    },

    async authenticate(attempt) {
      switch (config.mode) {
        case 'basic':
          return byPassword(attempt);
        case 'x509':
          return (await byCertificate(attempt, true))!;
        case 'anonymous': {
          // Nothing is required, but what a client presents is checked: a known certificate or a
          // username gives the session an identity (for applications with their own mode), and
          // a wrong password or a suspended/revoked credential is refused, not ignored.
          const byCert = await byCertificate(attempt, false);
          if (byCert) return byCert;
          if (attempt.username !== undefined && attempt.username !== '') return byPassword(attempt);
          return { ok: true, identity: undefined };
        }
      }
    },

    async stillActive(credentialId) {
      return (await store.get(credentialId))?.status === 'ACTIVE';
    },

    close() {
      unsubscribe();
    },
  };
}
