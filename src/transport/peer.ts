import type { PeerCertificate, TLSSocket } from 'node:tls';

export type TransportKind = 'tcp' | 'tls' | 'ws' | 'wss';

/**
 * What the transport knows about the other end of a connection, for authentication in the MQTT
 * layer (the server reads it with `peerOf(stream)` and hands it to client authentication with the CONNECT).
 */
export interface TransportPeer {
  transport: TransportKind;
  remoteAddress: string | undefined;
  /** The client certificate, when the connection is TLS and the client presented one. */
  certificate: PeerCertificate | undefined;
  /** True when the client certificate verified against the configured CA (`tls.ca`). */
  authorized: boolean;
  /** Why it did not verify, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`; undefined if none was presented or it verified. */
  authorizationError: string | undefined;
}

interface PeerCarrier {
  tetherPeer?: TransportPeer;
}

/** Reads the peer from a stream a transport handed to the MQTT core (or a wrapper that carried it over). */
export function peerOf(stream: unknown): TransportPeer | undefined {
  return typeof stream === 'object' && stream !== null ? (stream as PeerCarrier).tetherPeer : undefined;
}

export function setPeer(stream: object, peer: TransportPeer): void {
  (stream as PeerCarrier).tetherPeer = peer;
}

/** The peer of a TLS connection, read once the handshake is done. */
export function tlsPeer(socket: TLSSocket, transport: 'tls' | 'wss'): TransportPeer {
  const certificate = socket.getPeerCertificate();
  // Node returns an empty object when the client sent no certificate (or none was requested).
  const presented = certificate !== null && typeof certificate === 'object' && Object.keys(certificate).length > 0;
  const error = socket.authorizationError as Error | string | null | undefined;
  return {
    transport,
    remoteAddress: socket.remoteAddress,
    certificate: presented ? certificate : undefined,
    authorized: presented && socket.authorized,
    authorizationError: presented && !socket.authorized && error ? (typeof error === 'string' ? error : (error as Error & { code?: string }).code ?? error.message) : undefined,
  };
}

export function plainPeer(remoteAddress: string | undefined, transport: 'tcp' | 'ws'): TransportPeer {
  return { transport, remoteAddress, certificate: undefined, authorized: false, authorizationError: undefined };
}
