/**
 * Watches the raw bytes of an MQTT connection and reports the first packet whose fixed header
 * announces more than `maxPacketSize` bytes, or whose Remaining Length is malformed, before the
 * packet parser (mqtt-packet, which has no size limit) buffers it. It only reads the fixed header
 * of each packet and skips bodies by counting, so it costs almost nothing per byte.
 *
 * MQTT 3.1.1 §2.2.3: Remaining Length is a variable-length integer of at most four bytes.
 */
export type GuardVerdict = { kind: 'too-large'; size: number } | { kind: 'malformed'; problem: string };

export class PacketSizeGuard {
  // Where in the current packet we are: 0 = expecting the type byte, 1 = reading the length.
  private state: 0 | 1 = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private skip = 0;
  private verdict: GuardVerdict | undefined;

  constructor(private readonly maxPacketSize: number) {}

  /** Feeds the next chunk; returns a verdict once a packet breaks the rules (and every time after). */
  feed(chunk: Uint8Array): GuardVerdict | undefined {
    if (this.verdict) return this.verdict;
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.state === 0) {
        this.state = 1;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes >= 4) return (this.verdict = { kind: 'malformed', problem: 'Remaining Length longer than four bytes' });
        continue;
      }
      const size = 1 + this.lengthBytes + this.length;
      if (size > this.maxPacketSize) return (this.verdict = { kind: 'too-large', size });
      this.state = 0;
      this.skip = this.length;
    }
    return undefined;
  }
}
