/**
 * Polls `read` until it returns something truthy; fails naming `what` after `timeoutMs`.
 * `what` may be a function, so that the message shows the state at the deadline (e.g. output so far).
 */
export async function until<T>(read: () => Promise<T | undefined | false> | T | undefined | false, what: string | (() => string), timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${typeof what === "function" ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
