#!/usr/bin/python3
"""An independent numpy implementation of the PDFgetX3-style reduction of docs/analysis.md section 2, the
reference for reduction_test.cpp. It shares no code with analysis/pdf: form factors from periodictable's own
f0, a Chebyshev instead of a Legendre basis for the polynomial, numpy least squares and trapezoid rule.

Usage: pdf_reference.py DATA COMPOSITION QMAXINST QMAX RPOLY RMAX [WAVELENGTH [BACKGROUND BGSCALE]]
DATA and BACKGROUND hold two numeric columns, Q in 1/A, or 2theta in degrees when WAVELENGTH (A) is given;
COMPOSITION is e.g. "Ce:1,O:2". Prints '# A=<scale> degree=<n>', then 'r G' rows for r = 0, 0.01, ..., RMAX."""
import sys

import numpy as np
import periodictable

SCALE_FIT_QMIN_FRACTION = 1.0 / 3.0
RSTEP = 0.01


def read_columns(path):
    rows = []
    for line in open(path):
        try:
            values = [float(v) for v in line.split()]
        except ValueError:
            continue
        if len(values) >= 2:
            rows.append(values[:2])
    return np.array(rows).T


def to_q(x, wavelength):
    return x if wavelength is None else 4 * np.pi * np.sin(np.radians(x) / 2) / wavelength


def form_factor_averages(composition, q):
    """<f>, <f^2> and the Compton estimate sum c (Z - f^2 / Z) over atomic fractions c."""
    total = sum(amount for _, amount in composition)
    f_mean, f2_mean, incoherent = np.zeros_like(q), np.zeros_like(q), np.zeros_like(q)
    for symbol, amount in composition:
        element = periodictable.elements.symbol(symbol)
        f = element.xray.f0(q)
        c = amount / total
        f_mean += c * f
        f2_mean += c * f * f
        incoherent += c * (element.number - f * f / element.number)
    return f_mean, f2_mean, incoherent


def reduce(q, intensity, composition, qmaxinst, qmax, rpoly, rmax):
    keep = (q > 0) & (q <= qmaxinst)
    q, intensity = q[keep], intensity[keep]
    f_mean, f2_mean, incoherent = form_factor_averages(composition, q)
    high = q >= SCALE_FIT_QMIN_FRACTION * qmaxinst
    level = f2_mean[high] + incoherent[high]
    scale = np.dot(level, intensity[high]) / np.dot(level, level)
    fm = q * intensity / (scale * f_mean**2)
    degree = int(np.floor(rpoly * qmaxinst / np.pi))
    basis = q[:, None] * np.polynomial.chebyshev.chebvander(2 * q / qmaxinst - 1, degree)
    f = fm - basis @ np.linalg.lstsq(basis, fm, rcond=None)[0]
    r = np.arange(int(round(rmax / RSTEP)) + 1) * RSTEP
    used = q <= qmax
    g = 2 / np.pi * np.trapz(f[used] * np.sin(np.outer(r, q[used])), q[used], axis=1)
    return scale, degree, r, g


def main():
    data, composition = sys.argv[1], [(s, float(a)) for s, a in (p.split(":") for p in sys.argv[2].split(","))]
    qmaxinst, qmax, rpoly, rmax = (float(v) for v in sys.argv[3:7])
    wavelength = float(sys.argv[7]) if len(sys.argv) > 7 else None
    x, intensity = read_columns(data)
    q = to_q(x, wavelength)
    if len(sys.argv) > 9:
        bx, by = read_columns(sys.argv[8])
        intensity = intensity - float(sys.argv[9]) * np.interp(q, to_q(bx, wavelength), by)
    scale, degree, r, g = reduce(q, intensity, composition, qmaxinst, qmax, rpoly, rmax)
    print("# A=%.17g degree=%d" % (scale, degree))
    for ri, gi in zip(r, g):
        print("%.17g %.17g" % (ri, gi))


if __name__ == "__main__":
    main()
