#!/usr/bin/python3
"""Makes a CeO2-like powder image on a Pilatus-like detector and its pyFAI integration, for
pyfai_reference_test.cpp. Run with Debian's python3-pyfai and python3-fabio; takes a few seconds.

Usage: pyfai_reference.py OUTDIR SPLIT NPT [QMIN QMAX POLARIZATION]
Writes OUTDIR/ceo2.tif (int32, module gaps -1, dead pixels -2), OUTDIR/ceo2.poni and OUTDIR/reference.xy
(columns q_A^-1 I sigma count) from integrate1d(method=(SPLIT, histogram|csr, cython), mask=img<0,
solid angle on, Poisson errors, and the optional radial range and polarisation factor)."""
import itertools
import os
import sys

import fabio
import numpy as np
import pyFAI
from pyFAI.azimuthalIntegrator import AzimuthalIntegrator
from pyFAI.detectors import Detector

CEO2_A = 5.4113  # fluorite lattice constant, angstrom
MODULE_ROWS, GAP_ROWS, MODULES, COLUMNS = 195, 17, 3, 487  # a Pilatus 300K: three modules stacked


def fluorite_reflections(q_max):
    """(q, multiplicity) of fcc reflections with h+k+l = 4n or hkl all odd, the allowed CeO2 lines."""
    lines = {}
    n = int(q_max * CEO2_A / (2 * np.pi)) + 1
    for h, k, l in itertools.product(range(-n, n + 1), repeat=3):
        parity = {h % 2, k % 2, l % 2}
        if (h, k, l) == (0, 0, 0) or len(parity) > 1 or (parity == {0} and (h + k + l) % 4):
            continue
        q = 2 * np.pi * np.sqrt(h * h + k * k + l * l) / CEO2_A
        if q <= q_max:
            lines[round(q, 9)] = lines.get(round(q, 9), 0) + 1
    return sorted(lines.items())


def geometry():
    shape = (MODULES * MODULE_ROWS + (MODULES - 1) * GAP_ROWS, COLUMNS)
    detector = Detector(pixel1=172e-6, pixel2=172e-6, max_shape=shape)
    return AzimuthalIntegrator(dist=0.2087, poni1=0.0312, poni2=0.0356, rot1=-0.0184, rot2=0.0041, rot3=-2.8e-8,
                               detector=detector, wavelength=0.4066e-10)


def powder_image(ai):
    """Rings at the CeO2 Q positions (Gaussian, intensity ~ multiplicity / Q^2) on a falling background,
    Poisson counts from a fixed seed, then module gaps and a few dead pixels."""
    q = ai.qArray() / 10.0  # pyFAI's qArray is in 1/nm
    expected = 40.0 + 400.0 * np.exp(-q / 2.0)
    for q_hkl, multiplicity in fluorite_reflections(q.max() + 0.1):
        expected += 3000.0 * multiplicity / q_hkl**2 * np.exp(-0.5 * ((q - q_hkl) / 0.012) ** 2)
    rng = np.random.default_rng(20261124)
    img = rng.poisson(expected).astype(np.int32)
    for m in range(1, MODULES):
        start = m * MODULE_ROWS + (m - 1) * GAP_ROWS
        img[start:start + GAP_ROWS, :] = -1
    img[rng.integers(0, img.shape[0], 40), rng.integers(0, img.shape[1], 40)] = -2
    return img


def main():
    out, split, npt = sys.argv[1], sys.argv[2], int(sys.argv[3])
    radial_range = (float(sys.argv[4]), float(sys.argv[5])) if len(sys.argv) > 5 else None
    polarization = float(sys.argv[6]) if len(sys.argv) > 6 else None
    ai = geometry()
    img = powder_image(ai)
    fabio.tifimage.TifImage(data=img).write(os.path.join(out, "ceo2.tif"))
    ai.write(os.path.join(out, "ceo2.poni"))
    method = (split, "histogram" if split == "no" else "csr", "cython")
    r = ai.integrate1d(img.astype(np.float32), npt, unit="q_A^-1", method=method, mask=img < 0,
                       radial_range=radial_range, correctSolidAngle=True, polarization_factor=polarization,
                       error_model="poisson")
    np.savetxt(os.path.join(out, "reference.xy"), np.column_stack([r.radial, r.intensity, r.sigma, r.count]),
               fmt="%.10e", header="pyFAI %s integrate1d npt=%d method=%s radial_range=%s polarization_factor=%s\n"
               "columns: q_A^-1 I sigma count" % (pyFAI.version, npt, method, radial_range, polarization))


if __name__ == "__main__":
    main()
