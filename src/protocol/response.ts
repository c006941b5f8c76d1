import type { TetherError } from '../core/errors.js';

/** 1/KP: success responses go to the request topic with `/status` appended. */
export function statusTopic(requestTopic: string): string {
  return requestTopic + '/status';
}

/** 1/KP: error responses go to the request topic with `/error` appended. */
export function errorTopic(requestTopic: string): string {
  return requestTopic + '/error';
}

/** 1/KP error response schema (0001-error-response): `{"statusCode":N,"reasonPhrase":"..."}`, UTF-8 JSON. */
export interface KpErrorPayload {
  statusCode: number;
  reasonPhrase: string;
}

export function errorPayload(err: TetherError): Buffer {
  const body: KpErrorPayload = { statusCode: err.status, reasonPhrase: err.message };
  return Buffer.from(JSON.stringify(body), 'utf8');
}
