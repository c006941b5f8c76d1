/**
 * Progress of a long CLI operation on stderr (stdout stays the command's answer): on a terminal one
 * line redrawn in place (a bar when the share done is known, else the time so far), otherwise a
 * plain line every `everyMs`, so logs of scripts and CI show it is still working.
 */
export interface Progress {
  /** `done` of `total` units (e.g. bytes sent), when known. */
  update(done?: number): void;
  /** Clears the terminal line, or prints the closing line elsewhere. */
  finish(summary?: string): void;
}

export function startProgress(what: string, options: { total?: number; stream?: NodeJS.WriteStream; everyMs?: number; now?: () => number } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const now = options.now ?? Date.now;
  const started = now();
  const everyMs = options.everyMs ?? (tty ? 200 : 5000);
  let done: number | undefined;
  const seconds = () => `${Math.round((now() - started) / 1000)} s`;
  const render = (): string => {
    if (done === undefined || options.total === undefined || options.total === 0) return `${what}… ${seconds()}`;
    const share = Math.min(1, done / options.total);
    const width = 24;
    const filled = Math.round(share * width);
    return `${what} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(share * 100)}% ${seconds()}`;
  };
  const draw = () => {
    if (tty) stream.write(`\r${render()}\u001b[K`);
    else stream.write(`${render()}\n`);
  };
  if (tty) draw();
  const timer = setInterval(draw, everyMs);
  timer.unref();
  return {
    update(value) {
      done = value;
    },
    finish(summary) {
      clearInterval(timer);
      if (tty) stream.write('\r\u001b[K');
      else if (now() - started >= everyMs) stream.write(`${summary ?? `${what}: done`} (${seconds()})\n`);
    },
  };
}
