/** Types for deadman.mjs (plain JavaScript: the restorer runs it on the stock node image). */
export declare class Deadman {
  constructor(deadmanMs: number, now?: () => number);
  /** One read of the heartbeat (null: the API server did not answer); true when the helper counts as gone. */
  observe(value: string | null): boolean;
  silentForMs(): number;
  /** Changes of the value seen (the helper's renewals), not counting the first read. */
  readonly renewals: number;
}
