import type { TetherError } from '../core/errors.js';

/** MQTT 5.0 §2.4 reason codes Tether sends. 3.1.1 has no reason codes on PUBACK, SUBACK (but 0x80) or DISCONNECT. */
export const Reason = {
  success: 0x00,
  noSubscriptionExisted: 0x11,
  unspecified: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  unsupportedProtocolVersion: 0x84,
  clientIdNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  serverShuttingDown: 0x8b,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  quotaExceeded: 0x97,
  administrativeAction: 0x98,
  payloadFormatInvalid: 0x99,
} as const;

/** MQTT 3.1.1 §3.2.2.3 CONNACK return codes. */
export const ConnackV3 = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUserNameOrPassword: 4,
  notAuthorized: 5,
} as const;

/**
 * The MQTT 5 reason code for a refused request, beside the 1/KP `/error` reply that carries the
 * details: a refused token is 0x87, a rate or quota 0x97, a bad payload 0x99, a bad topic 0x90,
 * anything Tether failed at itself 0x80. It reads only the code and its status, so each catalog
 * code has one reason (test/core/error-catalog.test.ts).
 */
export function reasonForError(err: TetherError): number {
  // MQTT 5 has no "storage full"; Quota exceeded is the nearest, and says "not now" rather than "never".
  if (err.code === 'STORAGE_FULL') return Reason.quotaExceeded;
  if (err.status >= 500) return Reason.unspecified;
  if (err.status === 401 || err.status === 403) return Reason.notAuthorized;
  if (err.status === 429) return Reason.quotaExceeded;
  if (err.code === 'PAYLOAD_INVALID' || err.code === 'PAYLOAD_NOT_JSON' || err.code.startsWith('METADATA_')) return Reason.payloadFormatInvalid;
  if (err.status === 413) return Reason.packetTooLarge;
  if (err.code.startsWith('KP_TOPIC') || err.code === 'REQUEST_ID_INVALID' || err.code === 'TOKEN_INVALID') return Reason.topicNameInvalid;
  // Unknown version, extension or resource: the topic names nothing this server serves.
  if (err.status === 404) return Reason.topicNameInvalid;
  return Reason.unspecified;
}

/** The 3.1.1 CONNACK code for an MQTT 5 CONNACK reason. */
export function connackCodeV3(reason: number): number {
  switch (reason) {
    case Reason.success:
      return ConnackV3.accepted;
    case Reason.unsupportedProtocolVersion:
      return ConnackV3.unacceptableProtocolVersion;
    case Reason.clientIdNotValid:
      return ConnackV3.identifierRejected;
    case Reason.badUserNameOrPassword:
      return ConnackV3.badUserNameOrPassword;
    case Reason.notAuthorized:
      return ConnackV3.notAuthorized;
    default:
      return ConnackV3.serverUnavailable;
  }
}
