// A map emptied at the end of each turn of the event loop, for what one turn makes and uses: a
// txn's encoding, a message encoded once for every peer it goes to. A WeakMap held such entries as
// long as their keys lived, and its ephemeron tables cost several percent of a member's CPU in the
// garbage collector under write load.
//
// Each turn gets a fresh Map rather than clearing one kept for good. A Map that lives long sits in
// V8's old generation, and so does every hash table it grows or clears into; a table it leaves
// behind still points at that turn's txns and encodings, and a scavenge counts those pointers as
// roots until the next full collection. They were kept and promoted: about 650 KB per scavenge on
// every member under setData at 16x16, against 3 KB with a fresh Map (on a follower), and so a
// mark-compact every 3 s or so, each a pause the clients of that member waited through.

export class TurnCache<K, V> {
  private entries = new Map<K, V>();
  private clearing = false;

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    this.entries.set(key, value);
    if (this.clearing) return;
    this.clearing = true;
    setImmediate(() => {
      this.entries = new Map();
      this.clearing = false;
    });
  }
}
