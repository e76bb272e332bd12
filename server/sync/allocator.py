"""Giving freed memory back to the operating system after rooms unload.

A room's document lives mostly in yrs (Rust) allocations, freed to glibc's malloc
when the room unloads; glibc keeps freed pages for reuse, so the process's
resident size does not fall. ``malloc_trim`` returns them. Elsewhere (musl,
macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("plenary.allocator")

_trim = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _trim = _libc.malloc_trim
    _trim.argtypes = [ctypes.c_size_t]
    _trim.restype = ctypes.c_int
except (OSError, AttributeError):  # not glibc
    _trim = None


def release_free_memory() -> bool:
    """Return freed heap pages to the OS; True if anything was released."""
    if _trim is None:
        return False
    return bool(_trim(0))
