/** Kaa application and application version names. */
export const NAME_PATTERN = /^[a-z0-9_-]+$/;
/** Kaa CM: tokens must not contain MQTT wildcards, topic separators or dots. */
export const TOKEN_PATTERN = /^[^+#/.]+$/;
/** 10/EPMP: metadata keys. */
export const METADATA_KEY_PATTERN = /^[a-zA-Z0-9_]+$/;
/** Endpoint IDs supplied by operators; generated ones are UUIDs. */
export const ENDPOINT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export const MAX_TOKEN_LENGTH = 256;

export function isValidToken(token: string): boolean {
  // Control characters would make log lines and topics ambiguous.
  return token.length > 0 && token.length <= MAX_TOKEN_LENGTH && TOKEN_PATTERN.test(token) && !/[\u0000-\u001f\u007f]/.test(token);
}
