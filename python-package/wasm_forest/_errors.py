"""Exceptions of the sandbox.

Bad data or parameters raise ``ValueError`` with the component's message, as
scikit-learn does; these are for the sandbox stopping a call.
"""


class SandboxError(RuntimeError):
    """The WebAssembly sandbox stopped a call: a trap (a bug, or a component
    that misbehaves) or one of the limits below. The interpreter and the
    estimator stay usable."""


class SandboxTimeout(SandboxError, TimeoutError):
    """A call into the sandbox outlived ``timeout_s``."""


class SandboxMemoryError(SandboxError, MemoryError):
    """The component asked for more memory than ``max_memory_mib``."""


class GpuError(SandboxError):
    """``device="gpu"`` and the host's GPU failed (or there is none)."""


class ModelFileError(OSError):
    """A model file could not be read or written (the message names it)."""
