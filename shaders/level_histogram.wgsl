// Level-wise training, histograms: one invocation per row adds the row to
// the histogram of its node, if that node is one of those asked for.
//
// Bindings (group 0):
//   0 uniform            params   sizes of this dispatch (see `Params`)
//   1 storage, read      codes    row-major bin codes, four per u32 (byte k of
//                                 a word is feature 4i + k), `words_per_row`
//                                 words per row
//   2 storage, read      node_of  each row's node in the current level, or LEAF
//   3 storage, read      slot_of  each node of the level, two words: its slot
//                                 among the histograms asked for, and among
//                                 the rank ranges asked for (LEAF: not asked)
//   4 storage, read      weights  each row's draw count (0: out of bag)
//   5 storage, read      wy       each row's weight × fixed-point target, an
//                                 i64 as two u32 (low word first)
//   6 storage, read      ranks    each row's target rank
//   7 storage, rw        hist     per slot, feature and bin (256 per feature):
//                                 rows, weight, wy low, wy high (u32 each)
//   8 storage, rw        ranges   per range slot: lowest and highest target
//                                 rank
//
// Every sum is an integer sum made with atomics, so it does not depend on the
// order in which rows are added: the histograms are the same in every run
// and on every device. A 64-bit sum adds its low words with atomicAdd and
// carries into the high word; the number of carries is the same in any
// order. (Global atomics: per-workgroup partial histograms in workgroup
// memory are the next step for hardware GPUs.)

const LEAF: u32 = 0xffffffffu;
const BINS: u32 = 256u;

struct Params {
    n_rows: u32,
    n_features: u32,
    words_per_row: u32,
    // Rows per dispatch row (2D dispatch: x * 64 + y * row_pitch).
    row_pitch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read> node_of: array<u32>;
@group(0) @binding(3) var<storage, read> slot_of: array<u32>;
@group(0) @binding(4) var<storage, read> weights: array<u32>;
@group(0) @binding(5) var<storage, read> wy: array<u32>;
@group(0) @binding(6) var<storage, read> ranks: array<u32>;
@group(0) @binding(7) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> ranges: array<atomic<u32>>;

@compute @workgroup_size(64)
fn histogram_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.y * params.row_pitch + gid.x;
    if (r >= params.n_rows) {
        return;
    }
    let node = node_of[r];
    if (node == LEAF) {
        return;
    }
    let range_slot = slot_of[2u * node + 1u];
    if (range_slot != LEAF) {
        atomicMin(&ranges[2u * range_slot], ranks[r]);
        atomicMax(&ranges[2u * range_slot + 1u], ranks[r]);
    }
    let slot = slot_of[2u * node];
    if (slot == LEAF) {
        return;
    }
    let w = weights[r];
    let lo = wy[2u * r];
    let hi = wy[2u * r + 1u];
    let base = slot * params.n_features * BINS;
    for (var f = 0u; f < params.n_features; f++) {
        let word = codes[r * params.words_per_row + f / 4u];
        let code = (word >> ((f % 4u) * 8u)) & 0xffu;
        let b = (base + f * BINS + code) * 4u;
        atomicAdd(&hist[b], 1u);
        atomicAdd(&hist[b + 1u], w);
        let old = atomicAdd(&hist[b + 2u], lo);
        let carry = select(0u, 1u, old > 0xffffffffu - lo);
        atomicAdd(&hist[b + 3u], hi + carry);
    }
}
