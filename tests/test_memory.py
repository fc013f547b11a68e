"""Unit tests of matchcore.memory: handing freed heap back to the operating system."""

from __future__ import annotations

from matchcore import memory


def test_memory_release_is_safe_to_call():

    memory.release()
    memory.release()  # cached lookup, still fine
    assert memory.malloc_trim() is None or callable(memory.malloc_trim())
