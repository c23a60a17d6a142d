import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT, MerkleFrontier, consistencyProof, hashLeaf, inclusionProof, subtreeRoot, verifyConsistency, verifyInclusion,
} from '../../src/core/merkle.js';

// Published RFC 6962 vectors (transparency-dev/merkle testonly/constants.go and proof/verify_test.go).
const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const LEVEL0 = ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7'];
// [leaf (1-based), size, proof]
const INCLUSION: [number, number, string[]][] = [
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [3, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [2, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
const CONSISTENCY: [number, number, string[]][] = [
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
  [6, 7, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
];

const h = (hex: string): Buffer => Buffer.from(hex, 'hex');
const hexes = (bufs: Buffer[]): string[] => bufs.map((b) => b.toString('hex'));
const LEAVES = LEAF_INPUTS.map((x) => hashLeaf(h(x)));

describe('RFC 6962 test vectors', () => {
  it('leaf hashes', () => {
    expect(hexes(LEAVES.slice(0, 2))).toEqual(LEVEL0);
  });

  it('the frontier gives every published root, for sizes 0 to 8', () => {
    const frontier = new MerkleFrontier();
    expect(frontier.root().toString('hex')).toBe(ROOTS[0]);
    expect(EMPTY_ROOT.toString('hex')).toBe(ROOTS[0]);
    LEAVES.forEach((leaf, i) => {
      frontier.push(leaf);
      expect(frontier.size).toBe(i + 1);
      expect(frontier.root().toString('hex')).toBe(ROOTS[i + 1]);
      expect(subtreeRoot(LEAVES, 0, i + 1).toString('hex')).toBe(ROOTS[i + 1]);
    });
  });

  it.each(INCLUSION)('inclusion proof of leaf %i in a tree of %i', (leaf, size, proof) => {
    expect(hexes(inclusionProof(LEAVES, leaf - 1, size))).toEqual(proof);
    expect(verifyInclusion(leaf - 1, size, LEAVES[leaf - 1] as Buffer, proof.map(h), h(ROOTS[size] as string))).toBe(true);
  });

  it.each(CONSISTENCY)('consistency proof from %i to %i', (size1, size2, proof) => {
    expect(hexes(consistencyProof(LEAVES, size1, size2))).toEqual(proof);
    expect(verifyConsistency(size1, size2, proof.map(h), h(ROOTS[size1] as string), h(ROOTS[size2] as string))).toBe(true);
  });
});

describe('corrupted proofs are refused (the probes of transparency-dev/merkle)', () => {
  it.each(INCLUSION)('inclusion %i/%i', (leaf, size, proofHex) => {
    const proof = proofHex.map(h);
    const root = h(ROOTS[size] as string);
    const leafHash = LEAVES[leaf - 1] as Buffer;
    const i = leaf - 1;
    const probes: [number, number, Buffer, Buffer[], Buffer][] = [
      [i - 1, size, leafHash, proof, root], [i + 1, size, leafHash, proof, root], [i ^ 2, size, leafHash, proof, root],
      [i, size * 2, leafHash, proof, root], [i, Math.floor(size / 2), leafHash, proof, root],
      [i, size, Buffer.from('WrongLeaf'), proof, root], [i, size, leafHash, proof, EMPTY_ROOT],
      [i, size, leafHash, [...proof, Buffer.alloc(0)], root], [i, size, leafHash, [...proof, root], root],
      [i, size, leafHash, [Buffer.alloc(0), ...proof], root], [i, size, leafHash, [root, ...proof], root],
      [i, size, leafHash, proof.slice(0, -1), root],
    ];
    for (let k = 0; k < proof.length; k++) {
      const wrong = proof.map((p) => Buffer.from(p));
      const flipped = wrong[k] as Buffer;
      flipped[0] = (flipped[0] as number) ^ 8;
      probes.push([i, size, leafHash, wrong, root]);
    }
    for (const [index, sz, lh, pf, rt] of probes) expect(verifyInclusion(index, sz, lh, pf, rt)).toBe(false);
  });

  it.each(CONSISTENCY)('consistency %i→%i', (size1, size2, proofHex) => {
    const proof = proofHex.map(h);
    const r1 = h(ROOTS[size1] as string);
    const r2 = h(ROOTS[size2] as string);
    const probes: [number, number, Buffer[], Buffer, Buffer][] = [
      [size1 - 1, size2, proof, r1, r2], [size1 + 1, size2, proof, r1, r2], [size1 ^ 2, size2, proof, r1, r2],
      [size1, size2 * 2, proof, r1, r2], [size1, Math.floor(size2 / 2), proof, r1, r2],
      [size1, size2, proof, Buffer.from('WrongRoot'), r2], [size1, size2, proof, r1, Buffer.from('WrongRoot')], [size1, size2, proof, r2, r1],
      [size1, size2, [], r1, r2], [size1, size2, [...proof, Buffer.alloc(0)], r1, r2], [size1, size2, [...proof, r1], r1, r2],
      [size1, size2, [...proof, r2], r1, r2], [size1, size2, [Buffer.alloc(0), ...proof], r1, r2], [size1, size2, [r1, ...proof], r1, r2],
      [size1, size2, [r2, ...proof], r1, r2], [size1, size2, [proof[0] as Buffer, ...proof], r1, r2], [size1, size2, proof.slice(0, -1), r1, r2],
    ];
    for (let k = 0; k < proof.length; k++) {
      const wrong = proof.map((p) => Buffer.from(p));
      const flipped = wrong[k] as Buffer;
      flipped[0] = (flipped[0] as number) ^ 16;
      probes.push([size1, size2, wrong, r1, r2]);
    }
    for (const [s1, s2, pf, a, b] of probes) expect(verifyConsistency(s1, s2, pf, a, b), `${s1} ${s2}`).toBe(false);
  });

  it('edge cases of consistency (from verify_test.go)', () => {
    const a = Buffer.from("don't care 1");
    const b = Buffer.from("don't care 2");
    expect(verifyConsistency(0, 0, [], a, a)).toBe(true);
    expect(verifyConsistency(0, 1, [], a, b)).toBe(true);
    expect(verifyConsistency(1, 1, [], b, b)).toBe(true);
    expect(verifyConsistency(0, 0, [], a, b)).toBe(false);
    expect(verifyConsistency(1, 0, [], a, b)).toBe(false);
    expect(verifyConsistency(1, 2, [], a, b)).toBe(false);
    expect(verifyConsistency(1, 1, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT)).toBe(false);
  });
});

describe('properties over random trees', () => {
  const leavesArb = fc.array(fc.uint8Array({ minLength: 0, maxLength: 8 }), { minLength: 1, maxLength: 70 })
    .map((xs) => xs.map((x) => hashLeaf(Buffer.from(x))));

  it('every leaf has a verifying inclusion proof against the frontier root', () => {
    fc.assert(fc.property(leavesArb, fc.nat(), (leaves, pick) => {
      const frontier = new MerkleFrontier();
      leaves.forEach((l) => frontier.push(l));
      const index = pick % leaves.length;
      const proof = inclusionProof(leaves, index, leaves.length);
      return verifyInclusion(index, leaves.length, leaves[index] as Buffer, proof, frontier.root())
        && !verifyInclusion(index, leaves.length, hashLeaf(Buffer.from('other')), proof, frontier.root());
    }), { numRuns: 200, seed: 6962 });
  });

  it('every prefix is consistent with the whole, and a changed leaf breaks it', () => {
    fc.assert(fc.property(leavesArb, fc.nat(), (leaves, pick) => {
      const size1 = 1 + (pick % leaves.length);
      const proof = consistencyProof(leaves, size1, leaves.length);
      const root1 = subtreeRoot(leaves, 0, size1);
      const root2 = subtreeRoot(leaves, 0, leaves.length);
      const changed = [...leaves];
      changed[size1 - 1] = hashLeaf(Buffer.from('tampered'));
      return verifyConsistency(size1, leaves.length, proof, root1, root2)
        && (size1 === leaves.length || !verifyConsistency(size1, leaves.length, proof, subtreeRoot(changed, 0, size1), root2));
    }), { numRuns: 200, seed: 9162 });
  });
});
