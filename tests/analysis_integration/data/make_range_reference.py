#!/usr/bin/python3
"""Regenerates CeO2_pyFAI-0.21.3_<split>_range1-5_pol0.9.xy: pyFAI 0.21.3 integrations of Dioptas'
CeO2_Pilatus1M.tif (shared/data/pdf/dioptas_CeO2) with an explicit radial range and polarisation,
complementing the automatic-range references in shared/data. Usage: make_range_reference.py SHARED_DIR"""
import os, sys
import numpy as np, fabio, pyFAI

d = os.path.join(sys.argv[1], "data/pdf/dioptas_CeO2")
out = os.path.dirname(os.path.abspath(__file__))
img = fabio.open(os.path.join(d, "CeO2_Pilatus1M.tif")).data.astype(np.float32)
ai = pyFAI.load(os.path.join(d, "CeO2_Pilatus1M.poni"))
ai.detector = pyFAI.detector_factory("Pilatus1M")
for meth in (("no", "histogram", "cython"), ("bbox", "csr", "cython")):
    r = ai.integrate1d(img, 100, unit="q_A^-1", method=meth, mask=img < 0, radial_range=(1.0, 5.0),
                       correctSolidAngle=True, polarization_factor=0.9, error_model="poisson")
    np.savetxt(os.path.join(out, "CeO2_pyFAI-%s_%s_range1-5_pol0.9.xy" % (pyFAI.version, meth[0])),
               np.column_stack([r.radial, r.intensity, r.sigma, r.count]), fmt="%.10e",
               header="pyFAI %s integrate1d npt=100 unit=q_A^-1 method=%s mask=(img<0) radial_range=(1,5) "
                      "correctSolidAngle=True polarization_factor=0.9 error_model=poisson\ncolumns: q_A^-1 I sigma count"
                      % (pyFAI.version, meth))
