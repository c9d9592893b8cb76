// Level-wise training, histograms of the few large nodes of a tree's top
// levels: each workgroup adds a block of rows to one node's bins of up to
// three features in workgroup memory, then adds its non-empty bins to the
// histograms in device memory. At the top of a tree every row lands in the
// same 256 bins per feature, where one device-memory atomic per row and bin
// (level_histogram.wgsl) contends most; here the contention stays inside a
// workgroup, and device memory sees one addition per block and bin.
//
// Bindings (group 0):
//   0 uniform            params   sizes of this dispatch (see `Params`)
//   1 storage, read      codes    row-major bin codes, four per u32 (byte k of
//                                 a word is feature 4i + k), `words_per_row`
//                                 words per row
//   2 storage, read      node_of  each row's node in the current level, or LEAF
//   3 storage, read      slot_of  each node of the level, two words: its slot
//                                 among the histograms asked for (LEAF: not
//                                 asked for), and one this kernel ignores
//   4 storage, read      weights  each row's draw count (0: out of bag)
//   5 storage, read      wy       each row's weight × fixed-point target, an
//                                 i64 as two u32 (low word first)
//   6 storage, rw        hist     per slot, feature and bin (256 per feature):
//                                 rows, weight, wy low, wy high (u32 each)
//
// Dispatch: x = row blocks of BLOCK rows, y = slot × feature group (GROUP
// features each); workgroup (x, y) adds the rows of block x that are in slot
// y / n_groups, for the features of group y % n_groups.
//
// Every sum is an integer sum (a 64-bit one adds its low words and carries
// into the high word, in workgroup memory and again in device memory), so
// the histograms are those of level_histogram.wgsl, in any order.

const LEAF: u32 = 0xffffffffu;
const BINS: u32 = 256u;
// Features per workgroup: GROUP × BINS bins × 16 bytes = 12 KiB of the 16 KiB
// of workgroup memory every WebGPU device has.
const GROUP: u32 = 3u;
const THREADS: u32 = 256u;
const BLOCK: u32 = 4096u;

struct Params {
    n_rows: u32,
    n_features: u32,
    words_per_row: u32,
    // Feature groups: ceil(n_features / GROUP).
    n_groups: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read> node_of: array<u32>;
@group(0) @binding(3) var<storage, read> slot_of: array<u32>;
@group(0) @binding(4) var<storage, read> weights: array<u32>;
@group(0) @binding(5) var<storage, read> wy: array<u32>;
@group(0) @binding(6) var<storage, read_write> hist: array<atomic<u32>>;

// GROUP × BINS bins of four words.
var<workgroup> local: array<atomic<u32>, 3072>;

@compute @workgroup_size(256)
fn histogram_shared(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let slot = wg.y / params.n_groups;
    let first_feature = (wg.y % params.n_groups) * GROUP;
    for (var i = li; i < GROUP * BINS * 4u; i += THREADS) {
        atomicStore(&local[i], 0u);
    }
    workgroupBarrier();
    let end = min(wg.x * BLOCK + BLOCK, params.n_rows);
    for (var r = wg.x * BLOCK + li; r < end; r += THREADS) {
        let node = node_of[r];
        if (node == LEAF || slot_of[2u * node] != slot) {
            continue;
        }
        let w = weights[r];
        let lo = wy[2u * r];
        let hi = wy[2u * r + 1u];
        for (var k = 0u; k < GROUP; k++) {
            let f = first_feature + k;
            if (f >= params.n_features) {
                break;
            }
            let word = codes[r * params.words_per_row + f / 4u];
            let code = (word >> ((f % 4u) * 8u)) & 0xffu;
            let b = (k * BINS + code) * 4u;
            atomicAdd(&local[b], 1u);
            atomicAdd(&local[b + 1u], w);
            let old = atomicAdd(&local[b + 2u], lo);
            let carry = select(0u, 1u, old > 0xffffffffu - lo);
            atomicAdd(&local[b + 3u], hi + carry);
        }
    }
    workgroupBarrier();
    let base = slot * params.n_features * BINS;
    for (var i = li; i < GROUP * BINS; i += THREADS) {
        let f = first_feature + i / BINS;
        let rows = atomicLoad(&local[i * 4u]);
        if (f >= params.n_features || rows == 0u) {
            continue;
        }
        let lo = atomicLoad(&local[i * 4u + 2u]);
        let b = (base + f * BINS + i % BINS) * 4u;
        atomicAdd(&hist[b], rows);
        atomicAdd(&hist[b + 1u], atomicLoad(&local[i * 4u + 1u]));
        let old = atomicAdd(&hist[b + 2u], lo);
        let carry = select(0u, 1u, old > 0xffffffffu - lo);
        atomicAdd(&hist[b + 3u], atomicLoad(&local[i * 4u + 3u]) + carry);
    }
}
