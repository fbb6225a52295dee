"""The error a tensor in a graph being recorded raises when NumPy (or SciPy...) asks for its plain array
(``Tensor.__array__``, npgrad/tensor.py): it names the npgrad function to use instead when there is one."""


def graph_cut_error(t):
    """NumPy (or another library) asked for a plain array of a tensor in a graph being recorded: the
    result would carry no gradient, so the conversion refuses instead of cutting the graph silently."""
    hint = _npgrad_equivalent()
    return RuntimeError(
        f"a tensor that requires grad (shape {t.shape}, {t.dtype}) is being converted to a NumPy array while "
        f"gradients are recorded: the result would carry no gradient. "
        + (f"{hint[0]} cannot dispatch to npgrad: use {hint[1]} instead. " if hint else "")
        + "This happens with NumPy calls that cannot dispatch to npgrad (np.array([a, b]), np.mean([a, b]), np.r_, "
          f"SciPy functions...). Use an npgrad function instead (npg.array([a, b]) or npg.stack([a, b]), "
          f"npg.concatenate, npg.mean(npg.stack(...))), or take the values explicitly without gradient: t.detach(), "
          f"t.numpy(), t.data, or run under npg.no_grad().")


_NAMESPACES = (("scipy.special", "special"), ("scipy.linalg", "linalg"), ("scipy.signal", "signal"),
               ("scipy.stats", "stats"), ("scipy.integrate", "integrate"), ("scipy.fft", "fft"),
               ("numpy.linalg", "linalg"), ("numpy.fft", "fft"), ("numpy", ""))


def _npgrad_equivalent():
    """(the NumPy or SciPy function that asked for the conversion, the npgrad function of the same name), when
    npgrad has one: the outermost NumPy/SciPy frame on the stack below the caller's code. None otherwise."""
    import sys
    npg = sys.modules.get("npgrad")
    f, found = sys._getframe(2), None
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        top = mod.partition(".")[0]
        if top in ("numpy", "scipy"):
            found = (mod, f.f_code.co_name)
        elif top != "npgrad" and found is not None:
            break
        f = f.f_back
    if found is None or npg is None:
        return None
    mod, name = found
    for prefix, sub in _NAMESPACES:
        if mod == prefix or mod.startswith(prefix + "."):
            space = getattr(npg, sub) if sub else npg
            if not name.startswith("_") and callable(getattr(space, name, None)):
                public = prefix.replace("numpy", "np") + "." + name
                return public, "npg." + (sub + "." if sub else "") + name
            return None
    return None
