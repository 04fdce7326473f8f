#!/usr/bin/python3
"""Frame -> S_eq as a user would chain it in Python: pyFAI 0.21.3 integrate1d, numpy S(Q) -> F(Q) -> G(r) by FFT,
numpy S_eq. The anchor for bench_pipeline's insitu frame -> S_eq, on the frame and PONI pyfai_reference.py writes,
with bench_pipeline's settings (npt 3000 in q_A^-1, bbox split, solid angle, polarization 0.99, dark 100,
Cu44Zr44Al8Hf2Co2, qmin 0.8, qmax 21, qmaxinst 22, rpoly 0.9, r 0..20 A by 0.01, nominal rho0, S_eq to 10 A).
The formulas are docs/analysis.md's (as analysis/pdf/reduction.cpp and pair_entropy.cpp compute them).
Usage: python_chain.py DIR [NREP].  Run with Debian's /usr/bin/python3."""
import os
import sys
import time

import numpy as np
import periodictable
import pyFAI

COMPOSITION = [("Cu", 44), ("Zr", 44), ("Al", 8), ("Hf", 2), ("Co", 2)]
QMIN, QMAX, QMAXINST, RPOLY = 0.8, 21.0, 22.0, 0.9
RSTEP, RMAX = 0.01, 20.0
RHO0 = 0.0538345      # atoms per cubic angstrom
S_EQ_RMAX = 10.0
GAS_CONSTANT = 8.314462618


def form_factor_averages(q):
    total = sum(amount for _, amount in COMPOSITION)
    f_mean, f2_mean, incoherent = np.zeros_like(q), np.zeros_like(q), np.zeros_like(q)
    for symbol, amount in COMPOSITION:
        element = periodictable.elements.symbol(symbol)
        f, c = element.xray.f0(q), amount / total
        f_mean += c * f
        f2_mean += c * f * f
        incoherent += c * (element.number - f * f / element.number)
    return f_mean, f2_mean, incoherent


def reduced_structure_factor(q, intensity):
    """F(Q) = Q (S - 1) on 0 < Q <= qmaxinst: absolute scale from the high-Q level, then the polynomial removed."""
    keep = (q > 0) & (q <= QMAXINST)
    q, intensity = q[keep], intensity[keep]
    f_mean, f2_mean, incoherent = form_factor_averages(q)
    high = q >= QMAXINST / 3
    level = f2_mean[high] + incoherent[high]
    scale = np.dot(level, intensity[high]) / np.dot(level, level)
    fm = q * intensity / (scale * f_mean ** 2)
    degree = int(np.floor(RPOLY * QMAXINST / np.pi))
    basis = q[:, None] * np.polynomial.legendre.legvander(2 * q / QMAXINST - 1, degree)
    return q, fm - basis @ np.linalg.lstsq(basis, fm, rcond=None)[0]


def reduced_pdf_by_fft(q, f, r):
    """G(r) = (2/pi) int_qmin^qmax F sin(Qr) dQ: F on the grid k dQ from 0, one real FFT zero-padded to a power of
    two whose r step is at most half the requested one, then linear interpolation onto r."""
    dq = q[1] - q[0]
    q_grid = np.arange(int(QMAX / dq) + 2) * dq
    f_grid = np.interp(q_grid, q, f, left=0.0, right=0.0)
    f_grid[(q_grid < QMIN) | (q_grid > QMAX)] = 0.0
    nfft = 1 << int(np.ceil(np.log2(2 * np.pi / (dq * RSTEP / 2))))
    g_fft = -2 / np.pi * dq * np.fft.rfft(f_grid, nfft).imag
    r_fft = np.arange(g_fft.size) * (2 * np.pi / (nfft * dq))
    return np.interp(r, r_fft, g_fft)


def pair_entropy(r, big_g):
    """S_eq = -2 pi rho0 int_0^rmax [g ln g - g + 1] r^2 dr (g <= 0 taking the limit r^2), per atom in k_B."""
    g = np.zeros_like(r)
    g[r > 0] = big_g[r > 0] / (4 * np.pi * RHO0 * r[r > 0]) + 1
    positive = g > 1e-10
    integrand = r * r
    gp = g[positive]
    integrand[positive] = (gp * np.log(gp) - gp + 1) * r[positive] ** 2
    used = r <= S_EQ_RMAX
    return -2 * np.pi * RHO0 * np.trapz(integrand[used], r[used])


def main():
    out = sys.argv[1]
    nrep = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    ai = pyFAI.load(os.path.join(out, "bench.poni"))
    img = np.load(os.path.join(out, "frame.npy"))
    dark = np.full(img.shape, 100.0, dtype=np.float32)
    r = np.arange(int(round(RMAX / RSTEP)) + 1) * RSTEP
    totals, integrate, reduce_, s_eq_ms = [], [], [], []
    for i in range(nrep + 2):
        t0 = time.perf_counter()
        res = ai.integrate1d(img, npt=3000, unit="q_A^-1", method=("bbox", "csr", "cython"), dark=dark,
                             correctSolidAngle=True, polarization_factor=0.99)
        t1 = time.perf_counter()
        q, f = reduced_structure_factor(res.radial, res.intensity)
        big_g = reduced_pdf_by_fft(q, f, r)
        t2 = time.perf_counter()
        s_eq = pair_entropy(r, big_g)
        t3 = time.perf_counter()
        if i < 2:  # first frames: pyFAI builds its CSR matrix, caches warm up
            continue
        totals.append((t3 - t0) * 1e3)
        integrate.append((t1 - t0) * 1e3)
        reduce_.append((t2 - t1) * 1e3)
        s_eq_ms.append((t3 - t2) * 1e3)
    print("python chain frame->S_eq median_ms %.1f p99_ms %.1f | integrate1d %.1f reduce+fft %.2f S_eq %.2f "
          "(medians, ms) | S_eq_kB %.4f | pyFAI %s"
          % (np.median(totals), np.percentile(totals, 99), np.median(integrate), np.median(reduce_),
             np.median(s_eq_ms), s_eq, pyFAI.version))


if __name__ == "__main__":
    main()
