"""Adversarial review of nn.Module and the containers against torch 2.13, round 2: each test was a divergence."""
import copy
import pickle

import pytest
import torch

import npgrad as ng


def _both(build):
    """``build(torch)`` and ``build(npgrad)``; an exception becomes ``"ExcType: message"``."""
    out = []
    for L in (torch, ng):
        try:
            out.append(build(L))
        except Exception as e:
            out.append(f"{type(e).__name__}: {e}")
    return out


def test_train_calls_the_childrens_overridden_train_as_torch():
    def build(L):
        class FrozenBN(L.nn.Module):        # a common pattern: keep batch norm in eval mode while training
            def __init__(self):
                super().__init__()
                self.bn = L.nn.BatchNorm1d(2)

            def train(self, mode=True):
                super().train(mode)
                self.bn.eval()
                return self

        m = L.nn.Sequential(L.nn.Linear(2, 2), FrozenBN())
        m.train()
        after_train = [x.training for x in m.modules()]
        m.eval()
        m.train(True)
        return after_train, [x.training for x in m.modules()]
    t, n = _both(build)
    assert n == t == ([True, True, True, False], [True, True, True, False])
