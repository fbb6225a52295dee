"""Adversarial review of the new graph API, saved tensor hooks, global module hooks and scatter_reduce (against
torch)."""
import numpy as np
import pytest
import torch

import npgrad as npg


def _both_scatter_reduce(x, idx, src, reduce, include_self, g, dim=0):
    tx = torch.tensor(x, requires_grad=True)
    ts = torch.tensor(src, requires_grad=True)
    tx.scatter_reduce(dim, torch.tensor(idx), ts, reduce, include_self=include_self).backward(torch.tensor(g))
    nx = npg.tensor(x, requires_grad=True)
    ns = npg.tensor(src, requires_grad=True)
    with np.errstate(all="ignore"):
        out = nx.scatter_reduce(dim, npg.tensor(idx), ns, reduce, include_self=include_self)
        out.backward(npg.tensor(g))
    return (np.asarray(nx.grad), tx.grad.numpy()), (np.asarray(ns.grad), ts.grad.numpy())


@pytest.mark.parametrize("reduce", ["amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_extreme_nan_gradient_is_nan_as_torch(reduce, include_self):
    # a NaN result equals none of the reduced values: torch's gradient there is 0/0 = NaN, not 0
    x = np.array([1., np.nan, 3., -np.inf, 5., np.nan])
    src = np.array([np.nan, 2., -np.inf, 4., 1., 2.])
    idx = np.array([0, 0, 1, 2, 2, 3])
    g = np.arange(1., 7.)
    (gx, tgx), (gs, tgs) = _both_scatter_reduce(x, idx, src, reduce, include_self, g)
    np.testing.assert_array_equal(gx, tgx)
    np.testing.assert_array_equal(gs, tgs)


def test_global_module_hooks_reachable_by_torchs_path_after_import_npgrad():
    # torch.nn.modules.module.register_module_forward_hook works after `import torch`; the README's path
    # npgrad.nn.modules.module must work after `import npgrad` (it was an AttributeError unless imported by name)
    import subprocess
    import sys
    code = ("import npgrad as npg\n"
            "h = npg.nn.modules.module.register_module_forward_hook(lambda m, a, o: None)\n"
            "h.remove()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_node_prehook_returning_none_gradient_drops_it_as_torch():
    # torch: a node pre-hook returning (None,) makes the node's incoming gradient undefined, so nothing flows
    # to the inputs (a.grad stays None); npgrad read (None,) as "no change" and gave a.grad = 6
    ta = torch.tensor([1., 2.], requires_grad=True)
    tb = torch.tensor([1., 1.], requires_grad=True)
    tz = ta * 3
    tz.grad_fn.register_prehook(lambda go: (None,))
    (tz.sum() + (tb * 2).sum()).backward()
    assert ta.grad is None and tb.grad.tolist() == [2., 2.]
    a = npg.tensor([1., 2.], requires_grad=True)
    b = npg.tensor([1., 1.], requires_grad=True)
    z = a * 3
    z.grad_fn.register_prehook(lambda go: (None,))
    (z.sum() + (b * 2).sum()).backward()
    assert a.grad is None or np.all(np.asarray(a.grad) == 0)   # (npgrad's undefined gradient: zeros)
    np.testing.assert_array_equal(np.asarray(b.grad), tb.grad.numpy())
