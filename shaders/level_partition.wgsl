// Level-wise training, partition: one invocation per row moves the row to
// its node's child in the next level (or out of the tree, if its node became
// a leaf).
//
// Bindings (group 0):
//   0 uniform            params   sizes of this dispatch (see `Params`)
//   1 storage, read      codes    row-major bin codes, four per u32 (as in
//                                 level_histogram.wgsl)
//   2 storage, rw        node_of  each row's node: in the current level on
//                                 entry, in the next one on exit (or LEAF)
//   3 storage, read      moves    per node of the current level: split
//                                 feature (LEAF: a leaf), last bin of the
//                                 left side (bits 0-7) and whether bin 255,
//                                 a feature's missing values, goes left
//                                 too (bit 8), left child, right child
//
// Node ids come from the host, which made them; WGSL clamps any
// out-of-range read to the buffer.

const LEAF: u32 = 0xffffffffu;

struct Params {
    n_rows: u32,
    n_features: u32,
    words_per_row: u32,
    row_pitch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read_write> node_of: array<u32>;
@group(0) @binding(3) var<storage, read> moves: array<vec4<u32>>;

@compute @workgroup_size(64)
fn partition_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.y * params.row_pitch + gid.x;
    if (r >= params.n_rows) {
        return;
    }
    let node = node_of[r];
    if (node == LEAF) {
        return;
    }
    let m = moves[node];
    if (m.x == LEAF) {
        node_of[r] = LEAF;
        return;
    }
    let word = codes[r * params.words_per_row + m.x / 4u];
    let code = (word >> ((m.x % 4u) * 8u)) & 0xffu;
    let last_left = m.y & 0xffu;
    let missing_left = (m.y >> 8u) != 0u;
    node_of[r] = select(m.w, m.z, code <= last_left || (missing_left && code == 255u));
}
