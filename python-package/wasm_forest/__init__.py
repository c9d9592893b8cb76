"""wasm-forest: a scikit-learn random-forest regressor that trains and
predicts in a WebAssembly sandbox (wasmtime), with scikit-learn's semantics.

>>> from wasm_forest import RandomForestRegressor
>>> model = RandomForestRegressor(n_estimators=200, max_depth=16, random_state=42)
>>> model.fit(X_train, y_train).predict(X_test)      # doctest: +SKIP

The model is the same bytes as ``wasm-forest train --seed 42`` writes: see
:meth:`RandomForestRegressor.save` and :meth:`RandomForestRegressor.load`.
"""

import os as _os

# Without a desktop session (no XDG_RUNTIME_DIR: CI, ssh, containers) Mesa's
# implicit Vulkan layer VK_LAYER_MESA_device_select tries to reach a Wayland
# compositor and libwayland prints "error: XDG_RUNTIME_DIR is invalid" into
# the user's output. The host picks its adapter itself; the wasm-forest
# binary turns the layer off the same way (host/src/main.rs).
if not any(k in _os.environ for k in ("XDG_RUNTIME_DIR", "NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT")):
    _os.environ["NODEVICE_SELECT"] = "1"

from ._errors import (  # noqa: E402
    GpuError,
    ModelFileError,
    SandboxError,
    SandboxMemoryError,
    SandboxTimeout,
)
from ._estimator import RandomForestRegressor  # noqa: E402
from ._native import __version__  # noqa: E402

__all__ = [
    "GpuError",
    "ModelFileError",
    "RandomForestRegressor",
    "SandboxError",
    "SandboxMemoryError",
    "SandboxTimeout",
    "__version__",
]
