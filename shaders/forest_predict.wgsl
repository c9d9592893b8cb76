// Forest prediction: one invocation per row, walking every tree of one tree
// group and summing their leaf values (f32, trees in order).
//
// The node arrays are the forest crate's flat layout, one storage buffer per
// array, node ids relative to the group's first node (host/src/gpu.rs rebases
// them when a forest is split into groups that fit the device's buffers):
// node `i` is a leaf when `left[i] == LEAF`; otherwise a row goes to `left[i]`
// when `x[feature[i]] <= threshold[i]`, else to `right[i]`.
//
// Bindings (group 0):
//   0 uniform            params     sizes of this dispatch (see `Params`)
//   1 storage, read      roots      root node id of every tree in the group
//   2 storage, read      feature    split feature of every node
//   3 storage, read      threshold  split threshold of every node (f32)
//   4 storage, read      left       left child id, or LEAF
//   5 storage, read      right      right child id, or LEAF
//   6 storage, read      value      leaf prediction of every node (f32)
//   7 storage, read      rows       row-major n_rows × n_features inputs
//   8 storage, rw        out        one sum per row (written, or added to)
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
@group(0) @binding(2) var<storage, read> feature: array<u32>;
@group(0) @binding(3) var<storage, read> threshold: array<f32>;
@group(0) @binding(4) var<storage, read> left: array<u32>;
@group(0) @binding(5) var<storage, read> right: array<u32>;
@group(0) @binding(6) var<storage, read> value: array<f32>;
@group(0) @binding(7) var<storage, read> rows: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn predict(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.y * params.row_pitch + gid.x;
    if (row >= params.n_rows) {
        return;
    }
    let base = row * params.n_features;
    var sum = 0.0;
    for (var t = 0u; t < params.n_trees; t++) {
        var node = roots[t];
        for (var step = 0u; step < params.max_steps; step++) {
            let l = left[node];
            if (l == LEAF) {
                break;
            }
            if (rows[base + feature[node]] <= threshold[node]) {
                node = l;
            } else {
                node = right[node];
            }
        }
        sum += value[node];
    }
    if (params.accumulate != 0u) {
        out[row] = out[row] + sum;
    } else {
        out[row] = sum;
    }
}
