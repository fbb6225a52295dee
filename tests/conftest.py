"""Settings for the whole suite.

Every output that no backward reads is freed once nothing but the graph refers to it, whatever its size
(``npgrad.memory.set_free_unread_min(0)``): by default only arrays of 1,024 elements or more are, and most of
the suite's arrays are smaller, so this runs every gradient test through the freeing path too. A value read
after it was freed raises, so a wrong freeing fails the test that reaches it.
"""
import pytest

import npgrad

npgrad.memory.set_free_unread_min(0)


@pytest.fixture
def free_min():
    """``npgrad.memory.set_free_unread_min`` for one test; the suite's setting is put back after it."""
    prev = npgrad.memory.get_free_unread_min()
    yield npgrad.memory.set_free_unread_min
    npgrad.memory.set_free_unread_min(prev)
