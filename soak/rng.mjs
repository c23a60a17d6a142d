// A seeded random number generator (mulberry32): the same --seed gives the same choices of
// traffic and faults, so a run that found something can be replayed.

/** A generator of floats in [0, 1) from a 32-bit seed, with helpers. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [min, max]. */
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
    /** Picks a key of `weights` with probability proportional to its value. */
    weighted(weights) {
      const total = Object.values(weights).reduce((a, b) => a + b, 0);
      let r = next() * total;
      for (const [key, weight] of Object.entries(weights)) {
        r -= weight;
        if (r < 0) return key;
      }
      return Object.keys(weights).at(-1);
    },
    shuffle(items) {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}
