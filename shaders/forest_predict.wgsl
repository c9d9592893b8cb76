// Forest prediction: one invocation per row, walking every tree of one tree
// group and summing their leaf values (f32, trees in order).
//
// Nodes are the forest crate's flat layout (pre-order, so a split's left
// child is the next node), packed by host/src/gpu.rs into one vec4<u32> per
// node, so that a step of a walk is one 16-byte load:
//   x  split feature, or LEAF for a leaf
//   y  split threshold (f32 bits), or the leaf's value (f32 bits)
//   z  right child id (splits; 0 for leaves)
//   w  1 if rows missing the split feature (NaN) go left, else 0
//      (0 for leaves)
// Node ids are relative to the group's first node (the host rebases them when
// a forest is split into groups that fit the device's buffers). A row goes
// left, to the next node, when `x[feature] <= threshold` or, if `x[feature]`
// is NaN (a missing value), when `w` says so; else right. NaN is recognised
// by its bits: WGSL lets an implementation assume floats are never NaN.
//
// Bindings (group 0):
//   0 uniform            params     sizes of this dispatch (see `Params`)
//   1 storage, read      roots      root node id of every tree in the group
//   2 storage, read      nodes      the packed nodes of the group's trees
//   3 storage, read      rows       row-major n_rows × n_features inputs
//   4 storage, rw        out        one sum per row (written, or added to)
//
// Walks are bounded by `max_steps` (the deepest tree's depth + 1, checked on
// upload), so even damaged arrays cannot make an invocation loop forever;
// WGSL clamps out-of-range storage reads, so they cannot read outside a buffer.

const LEAF: u32 = 0xffffffffu;

struct Params {
    n_rows: u32,
    n_features: u32,
    n_trees: u32,
    // 0: out[row] = sum; 1: out[row] += sum (later tree groups).
    accumulate: u32,
    max_steps: u32,
    // Rows per dispatch row (2D dispatch: x * 64 + y * row_pitch).
    row_pitch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> roots: array<u32>;
@group(0) @binding(2) var<storage, read> nodes: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> rows: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn predict(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.y * params.row_pitch + gid.x;
    if (row >= params.n_rows) {
        return;
    }
    let base = row * params.n_features;
    var sum = 0.0;
    for (var t = 0u; t < params.n_trees; t++) {
        var id = roots[t];
        var node = nodes[id];
        for (var step = 0u; step < params.max_steps && node.x != LEAF; step++) {
            let x = rows[base + node.x];
            let missing = (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
            if (select(x <= bitcast<f32>(node.y), node.w != 0u, missing)) {
                id = id + 1u;
            } else {
                id = node.z;
            }
            node = nodes[id];
        }
        sum += bitcast<f32>(node.y);
    }
    if (params.accumulate != 0u) {
        out[row] = out[row] + sum;
    } else {
        out[row] = sum;
    }
}
