"""Settings for the whole suite.

Every output that no backward reads is freed once nothing but the graph refers to it, whatever its size
(``npgrad.memory.set_free_unread_min(0)``): by default only arrays of 1,024 elements or more are, and most of
the suite's arrays are smaller, so this runs every gradient test through the freeing path too. A value read
after it was freed raises, so a wrong freeing fails the test that reaches it.
"""
import npgrad

npgrad.memory.set_free_unread_min(0)
