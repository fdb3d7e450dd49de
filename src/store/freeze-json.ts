// Deep-freezes a value fresh from JSON.parse, as memory-state's deepFreeze
// does, but faster on the start-up path, where a million records pass
// through it: arrays by index and objects by for-in (no Object.values array
// per object), and no call at all for primitives.
//
// Only for JSON.parse output: plain objects and arrays with nothing
// enumerable inherited.

export function freezeJson<T>(value: T): T {
  if (typeof value === 'object' && value !== null) freezeObject(value as object);
  return value;
}

function freezeObject(value: object): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (typeof child === 'object' && child !== null) freezeObject(child);
    }
  } else {
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const child = record[key];
      if (typeof child === 'object' && child !== null) freezeObject(child);
    }
  }
  Object.freeze(value);
}
