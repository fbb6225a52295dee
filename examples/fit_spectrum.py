"""Recover the frequencies, amplitudes, phases and decay rates of a noisy sum of damped sinusoids by gradient
descent on a spectral loss (complex least squares between Fourier transforms), with npg.fft and complex autograd.

    python examples/fit_spectrum.py [--steps 300] [--noise 0.2] [--seed 0] [--out-dir examples/output]

The signal is ``x(t) = sum_k Re(c_k exp((-g_k + 2 pi i f_k) t)) + noise``: mode ``k`` has frequency ``f_k``,
decay rate ``g_k`` and complex amplitude ``c_k = A_k exp(i phi_k)``. The frequencies are first read off the peaks
of the (zero-padded) periodogram, which resolves them only to a fraction of a bin; all parameters are then
refined with Adam on ``sum |rfft(model) - rfft(data)|^2`` over the frequency band that holds the modes (the
noise outside it does not enter the fit). The model is computed in complex arithmetic (a complex exponential
per mode), so the gradients flow through complex exp, products, ``real``, ``rfft`` and ``abs``: PyTorch's
convention, ``dL/dRe z + i dL/dIm z`` for every complex intermediate ``z``. The complex amplitudes are
optimized as pairs of reals (``view_as_complex``), as ``torch.optim.Adam`` treats complex parameters.

Prints the true, initial and fitted parameters and saves a plot to ``<out-dir>/fit_spectrum.png``.
"""
import argparse
import os
import sys
import time

import numpy as np

try:
    import npgrad as npg
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import npgrad as npg

FS, N, BAND = 100.0, 400, 35.0          # sampling rate (Hz), samples, upper edge of the fitted band (Hz)
TRUE = dict(f=np.array([5.3, 12.7, 21.1]), A=np.array([1.0, 0.6, 0.8]), g=np.array([0.4, 1.2, 0.7]),
            phi=np.array([0.3, -1.0, 2.0]))


def model(t, f, log_g, c):
    """The noiseless signal of the modes (frequency ``f``, decay ``exp(log_g)``, complex amplitude ``c``)."""
    z = (-npg.exp(log_g)[:, None] + 2j * np.pi * f[:, None]) * t      # complex exponents, one row per mode
    return npg.real(c[:, None] * npg.exp(z)).sum(axis=0)


def periodogram_peaks(x, k, pad=4):
    """The ``k`` strongest local maxima of ``|rfft(x)|^2`` (zero-padded ``pad`` times): frequencies and bins."""
    with npg.no_grad():
        power = (npg.abs(npg.fft.rfft(npg.tensor(x), n=pad * len(x))) ** 2).numpy()
    freqs = npg.fft.rfftfreq(pad * len(x), 1 / FS).numpy()
    peaks = [i for i in range(1, len(power) - 1) if power[i] > power[i - 1] and power[i] >= power[i + 1]]
    peaks = sorted(sorted(peaks, key=lambda i: -power[i])[:k])
    return freqs[peaks], np.array(peaks), pad * len(x)


def initial_guess(x, k):
    """Frequencies from the periodogram's peaks; amplitude and phase from the spectrum there, assuming a decay
    rate of 1/s (the spectrum of a mode at its peak is about ``c / 2 / (1 - exp(-g / FS))``)."""
    f0, bins, n = periodogram_peaks(x, k)
    with npg.no_grad():
        at_peaks = npg.fft.rfft(npg.tensor(x), n=n).numpy()[bins]
    g0 = np.ones(k)
    return f0, g0, 2 * at_peaks * (1 - np.exp(-g0 / FS))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="Adam steps (default 300)")
    parser.add_argument("--lr", type=float, default=0.02, help="learning rate (default 0.02)")
    parser.add_argument("--noise", type=float, default=0.2, help="noise standard deviation (default 0.2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--print-every", type=int, default=50, help="print the loss every N steps (default 50)")
    parser.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "output"),
                        help="where the plot goes (default examples/output)")
    parser.add_argument("--no-plot", action="store_true", help="skip the plot")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    t = np.arange(N) / FS
    clean = np.sum(TRUE["A"][:, None] * np.exp(-TRUE["g"][:, None] * t)
                   * np.cos(2 * np.pi * TRUE["f"][:, None] * t + TRUE["phi"][:, None]), axis=0)
    data = clean + args.noise * rng.standard_normal(N)

    k = len(TRUE["f"])
    f0, g0, c0 = initial_guess(data, k)
    f = npg.tensor(f0)
    log_g = npg.tensor(np.log(g0))
    c_pairs = npg.tensor(np.stack([c0.real, c0.imag], axis=-1))     # (k, 2): real and imaginary parts
    opt = npg.optim.Adam([f, log_g, c_pairs], lr=args.lr)

    target = npg.fft.rfft(npg.tensor(data, requires_grad=False), norm="ortho")  # a constant
    band = npg.fft.rfftfreq(N, 1 / FS).numpy() < BAND
    scale = float(np.sum(np.abs(target.numpy()[band]) ** 2))
    losses = []
    start = time.perf_counter()
    for step in range(args.steps + 1):
        spectrum = npg.fft.rfft(model(t, f, log_g, npg.view_as_complex(c_pairs)), norm="ortho")
        loss = (npg.abs(spectrum - target)[band] ** 2).sum() / scale
        losses.append(loss.item())
        if step % args.print_every == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")
        if step == args.steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    elapsed = time.perf_counter() - start

    c = c_pairs.numpy()[:, 0] + 1j * c_pairs.numpy()[:, 1]
    fitted = dict(f=f.numpy().copy(), A=np.abs(c), g=np.exp(log_g.numpy()), phi=np.angle(c))
    initial = dict(f=f0, A=np.abs(c0), g=g0, phi=np.angle(c0))
    print(f"\n{args.steps} steps in {elapsed:.1f} s; the noise alone leaves a loss of about "
          f"{args.noise ** 2 * band.sum() / scale:.5f}")
    print(f"{'':10s}" + "".join(f"{'mode ' + str(i):^27s}  " for i in range(k)).rstrip())
    print(f"{'':10s}" + ("   true  initial   fitted  " * k).rstrip())
    for name, what in (("f", "f (Hz)"), ("g", "g (1/s)"), ("A", "A"), ("phi", "phi (rad)")):
        print(f"{what:10s}" + "".join(f"{TRUE[name][i]:7.3f}  {initial[name][i]:7.3f}  {fitted[name][i]:7.3f}  "
                                      for i in range(k)).rstrip())

    plot = None
    if not args.no_plot:
        plot = save_plot(args.out_dir, t, data, clean, model(t, f, log_g, npg.view_as_complex(c_pairs)).numpy(),
                         target.numpy(), spectrum.detach().numpy(), band, losses)
        print(f"plot saved to {plot}")
    return {"losses": losses, "true": TRUE, "initial": initial, "fitted": fitted, "plot": plot}


def save_plot(out_dir, t, data, clean, fit, target, spectrum, band, losses):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    freqs = np.fft.rfftfreq(N, 1 / FS)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    axes[0].plot(t, data, ".", ms=2, color="0.6", label="data")
    axes[0].plot(t, clean, lw=1, label="true signal")
    axes[0].plot(t, fit, "--", lw=1, label="fit")
    axes[0].set(xlabel="time (s)", title="signal", xlim=(0, 2))
    axes[0].legend()
    axes[1].semilogy(freqs[band], np.abs(target[band]), color="0.6", label="|rfft(data)|")
    axes[1].semilogy(freqs[band], np.abs(spectrum[band]), "--", label="|rfft(fit)|")
    for fk in TRUE["f"]:
        axes[1].axvline(fk, color="k", lw=0.5, ls=":")
    axes[1].set(xlabel="frequency (Hz)", title="spectrum (true frequencies dotted)")
    axes[1].legend()
    axes[2].semilogy(losses)
    axes[2].set(xlabel="Adam step", ylabel="relative spectral loss", title="training")
    fig.tight_layout()
    path = os.path.join(out_dir, "fit_spectrum.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
