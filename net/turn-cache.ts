// A map emptied at the end of each turn of the event loop, for what one turn makes and uses: a
// txn's encoding, a message encoded once for every peer it goes to. A WeakMap held such entries as
// long as their keys lived, and its ephemeron tables cost several percent of a member's CPU in the
// garbage collector under write load.

export class TurnCache<K, V> {
  private readonly entries = new Map<K, V>();
  private clearing = false;

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    this.entries.set(key, value);
    if (this.clearing) return;
    this.clearing = true;
    setImmediate(() => {
      this.entries.clear();
      this.clearing = false;
    });
  }
}
