#!/usr/bin/python3
"""Writes the synthetic 2048^2 benchmark frame (frame.npy, float32) and its PONI (bench.poni) into OUT_DIR,
then times pyFAI 0.21.3 integrate1d on it with the settings bench_integration uses.
Usage: pyfai_reference.py OUT_DIR [NREP].  Run with Debian's /usr/bin/python3."""
import os, sys, time
import numpy as np
import pyFAI
from pyFAI.azimuthalIntegrator import AzimuthalIntegrator
from pyFAI.detectors import detector_factory

out = sys.argv[1]
nrep = int(sys.argv[2]) if len(sys.argv) > 2 else 15
npt, pix = 3000, 200e-6
os.makedirs(out, exist_ok=True)
poni = os.path.join(out, "bench.poni")
with open(poni, "w") as f:  # XRD1621 (pyFAI Perkin, 2048^2 at 200 um) at 60 keV, 0.30 m, beam centred
    f.write("poni_version: 2\nDetector: Perkin\nDetector_config: {\"pixel1\": 0.0002, \"pixel2\": 0.0002}\n"
            "Distance: 0.30\nPoni1: %r\nPoni2: %r\nRot1: 0\nRot2: 0\nRot3: 0\nWavelength: %r\n"
            % (1024 * pix, 1024 * pix, 12.398419843320026 / 60.0 * 1e-10))
ai = pyFAI.load(poni)
shape = ai.detector.shape
q = ai.qArray(shape) / 10.0  # nm^-1 -> A^-1
rng = np.random.default_rng(0)
img = rng.poisson(1000 + 5000 * np.exp(-((q - 2.7) / 0.25) ** 2) + 2000 * np.exp(-((q - 4.8) / 0.4) ** 2)
                  + 300 * np.exp(-q / 8)).astype(np.float32)
np.save(os.path.join(out, "frame.npy"), img)

for meth, label in ((("no", "histogram", "cython"), "none"), (("bbox", "csr", "cython"), "bbox")):
    kw = dict(npt=npt, unit="q_A^-1", method=meth, correctSolidAngle=True, polarization_factor=0.99,
              error_model="poisson")
    t0 = time.perf_counter()
    res = ai.integrate1d(img, **kw)
    first = time.perf_counter() - t0
    t = []
    for _ in range(nrep):
        t0 = time.perf_counter()
        res = ai.integrate1d(img, **kw)
        t.append(time.perf_counter() - t0)
    np.savetxt(os.path.join(out, "pyfai_%s.xy" % label), np.column_stack([res.radial, res.intensity, res.sigma]))
    print("pyfai %s median_ms %.2f min_ms %.2f setup_s %.3f" % (label, np.median(t) * 1e3, min(t) * 1e3, first))
