/**
 * Preloaded into a test process (`node --import ./test/support/skewClock.ts …`): its wall
 * clock runs CLOCK_SKEW_MS ahead (or, negative, behind) of the machine's — a workstation
 * whose clock is wrong. Date.now() and new Date() are moved; monotonic time is not.
 */
const skew = Number(process.env.CLOCK_SKEW_MS ?? 0);

if (skew !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(realNow() + skew);
      else super(...(args as ConstructorParameters<DateConstructor>));
    }
    static override now(): number {
      return realNow() + skew;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
}
