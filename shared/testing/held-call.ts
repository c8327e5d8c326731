/**
 * Holds one method of an object (a Bot API client, a chain, a ChangeNow client) on its first call
 * until the test releases it, so a test can run other deliveries while the first is mid-way: the
 * window in which concurrent duplicates race, opened on purpose instead of hoped for.
 */
export interface HeldCall<T extends object> {
  /** `target` with `method`'s first call held; later calls pass straight through. */
  client: T;
  /** Resolves once the first call has been made (and is being held). */
  arrived: Promise<void>;
  /** Lets the held call go on to the real method. */
  release(): void;
}

export function holdFirstCall<T extends object>(target: T, method: keyof T & string): HeldCall<T> {
  let signalArrival = (): void => undefined;
  let release = (): void => undefined;
  const arrived = new Promise<void>((resolve) => (signalArrival = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let isFirst = true;
  const client = new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (property !== method || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (isFirst) {
          isFirst = false;
          signalArrival();
          await released;
        }
        return (value as (...callArgs: unknown[]) => unknown).apply(object, args);
      };
    },
  });
  return { client, arrived, release };
}
