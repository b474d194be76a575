// The restorer's judgement of whether its helper is gone, made on one clock: its own.
//
// The helper changes a heartbeat value on the session's Secret every few seconds; what the
// value is does not matter, only that it changes (so the workstation's clock never enters
// into it). The helper counts as gone once the restorer has read the Secret without a pause
// for a whole dead-man interval and seen no change: a read that fails (the API server down,
// a timeout) starts the interval again, so an outage never ends a live session — after it,
// the helper has a full interval to renew. Time is monotonic (performance.now), immune to
// the pod's wall clock being set.

export class Deadman {
  /** `now`: milliseconds on a monotonic clock (tests give their own). */
  constructor(deadmanMs, now = () => performance.now()) {
    this.deadmanMs = deadmanMs;
    this.now = now;
    /** When the API last started answering, or the value last changed; null while it does not answer. */
    this.quietSince = null;
    this.last = undefined;
    /** Changes of the value seen (the helper's renewals), not counting the first read. */
    this.renewals = 0;
  }

  /**
   * One read of the heartbeat: its value (any string; "" when absent), or null when the API
   * server did not answer. Returns true when the helper counts as gone.
   */
  observe(value) {
    const at = this.now();
    if (value === null) {
      this.quietSince = null;
      return false;
    }
    if (this.last !== undefined && value !== this.last) this.renewals += 1;
    if (this.quietSince === null || value !== this.last) {
      this.quietSince = at;
      this.last = value;
    }
    return at - this.quietSince >= this.deadmanMs;
  }

  /** How long the heartbeat has stood still while the API answered (0 while it does not answer). */
  silentForMs() {
    return this.quietSince === null ? 0 : this.now() - this.quietSince;
  }
}
