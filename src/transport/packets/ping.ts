import type { Connection } from '../connection.js';
import { PINGRESP } from './encode.js';

/** PINGREQ: answered at once; receiving it already counted as activity for the keepalive. */
export function handlePing(connection: Connection): boolean {
  connection.write(PINGRESP);
  return true;
}
