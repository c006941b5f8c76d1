import fs from 'node:fs';

/**
 * The WAL's fdatasync, off the writer thread: while the thread pool syncs the WAL for the commits
 * answered so far, this thread commits the next batch. One sync at a time; commits that land while
 * one runs wait for the next, which covers them all (group commit for the fsync as well).
 * Durability is as with synchronous=FULL: an answer leaves only after an fdatasync that started
 * after its COMMIT returned, i.e. after SQLite wrote its frames to the WAL file.
 *
 * At most one commit waits for the next sync (`full`): every commit appends its own copy of each
 * page it changed, so commits piling up behind a slow sync would make the next sync slower still.
 */
export class WalSync<Answer> {
  private fd: number | undefined;
  private waiting: Answer[] = [];
  private syncing = false;
  private onIdle: (() => void) | undefined;
  private room: (() => void) | undefined;

  constructor(
    private readonly file: string,
    private readonly deliver: (answers: Answer[], err: unknown) => void,
  ) {}

  /** A commit already waits for the sync after the one running: hold further batches back. */
  get full(): boolean {
    return this.syncing && this.waiting.length > 0;
  }

  /** Called when `full` turns false. */
  onRoom(room: () => void): void {
    this.room = room;
  }

  afterSync(answers: Answer[]): void {
    for (const answer of answers) this.waiting.push(answer);
    if (!this.syncing) this.sync();
  }

  close(then: () => void): void {
    if (!this.syncing && this.waiting.length === 0) return this.closed(then);
    this.onIdle = () => this.closed(then);
  }

  private closed(then: () => void): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    then();
  }

  private sync(): void {
    const answers = this.waiting;
    this.waiting = [];
    this.syncing = true;
    // The WAL exists from the first commit on and stays while this connection is open (SQLite
    // resets it in place after a checkpoint, never deletes it then), so one descriptor serves.
    try {
      this.fd ??= fs.openSync(this.file, 'r+');
    } catch (err) {
      return this.synced(answers, err);
    }
    fs.fdatasync(this.fd, (err) => this.synced(answers, err));
  }

  private synced(answers: Answer[], err: unknown): void {
    this.syncing = false;
    this.deliver(answers, err);
    if (this.waiting.length > 0) this.sync();
    this.room?.();
    if (this.syncing) return;
    if (this.onIdle) {
      const idle = this.onIdle;
      this.onIdle = undefined;
      idle();
    }
  }
}
