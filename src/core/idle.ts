/**
 * Per-device caches (resolved tokens, endpoint placements) keep an entry while its device is
 * active. One idle this long is dropped, so a fleet that went quiet does not hold its caches; its
 * next message reads storage once and fills them again.
 */
export const DEVICE_CACHE_IDLE_MS = 10 * 60 * 1000;
/** How often the caches are swept for idle entries: one pass over each, once a minute. */
export const IDLE_SWEEP_EVERY_MS = 60 * 1000;
