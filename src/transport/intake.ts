import { Duplex } from 'node:stream';

/**
 * Wraps a device connection before aedes sees it, so that the connection's end reaches aedes only
 * after the CONNECT it carried has been processed.
 *
 * Why: clients such as the Kaa tutorial's paho script send CONNECT, PUBLISH and DISCONNECT back to
 * back and close the socket without waiting for CONNACK. aedes queues packets that arrive before
 * CONNACK and drops that queue when the stream ends, so the PUBLISH would be lost. Holding the end
 * (and any close or error of the underlying stream) until aedes reports the client connected lets
 * the queued PUBLISH run first. Writes that fail while held are ignored for the same reason: a
 * CONNACK that cannot be delivered must not abort the session before its queued requests run.
 *
 * The hold ends when `release()` is called (the server does so on aedes' `connected` event), or at
 * once if the peer closed without sending anything. A peer that sends bytes but never a complete
 * CONNECT is dropped by aedes' connect timeout, as any silent connection is.
 */
export class IntakeStream extends Duplex {
  private held = true;
  private received = false;
  private innerEnded = false;
  private innerClosed = false;
  private endPushed = false;
  private innerError: Error | undefined;

  constructor(private readonly inner: Duplex) {
    super({ allowHalfOpen: true, decodeStrings: false });
    inner.on('data', (chunk: Buffer) => {
      this.received = true;
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => {
      this.innerEnded = true;
      if (!this.received) this.held = false;
      this.passOn();
    });
    inner.on('error', (err: Error) => {
      this.innerError ??= err;
      this.passOn();
    });
    inner.on('close', () => {
      this.innerClosed = true;
      if (!this.received) this.held = false;
      this.passOn();
    });
  }

  /** Lets the underlying stream's end, close or error through to the reader (aedes). */
  release(): void {
    this.held = false;
    this.passOn();
  }

  private passOn(): void {
    if (this.held || this.destroyed) return;
    if (this.innerError) {
      this.destroy(this.innerError);
    } else if (this.innerEnded) {
      if (!this.endPushed) {
        this.endPushed = true;
        this.push(null);
      }
    } else if (this.innerClosed) {
      this.destroy();
    }
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.inner.write(chunk, (err) => callback(this.held ? null : err));
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const inner = this.inner;
    inner.cork();
    for (let i = 0; i < chunks.length - 1; i++) inner.write(chunks[i]!.chunk);
    inner.write(chunks[chunks.length - 1]!.chunk, (err) => callback(this.held ? null : err));
    inner.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(err);
  }
}
