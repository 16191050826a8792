/**
 * Resolves in a later task, so the work after it does not join the current
 * one into a single long main-thread task (input and painting get a turn in
 * between). scheduler.yield() where the browser has it (the continuation runs
 * ahead of other queued tasks), else a MessageChannel message (no setTimeout
 * clamping), else setTimeout(0).
 */
export function yieldToMain(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof scheduler?.yield === "function") return scheduler.yield();
  if (typeof MessageChannel === "function") {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        channel.port2.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

