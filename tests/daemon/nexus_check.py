"""A run file as NeXus viewers read it (silx 1.1's nxdata rules), and the file's own conventions (schema.hpp):
every group has an NX_class; every floating-point dataset has @units ("1" when dimensionless; integer datasets are
counts, indices, flags and codes and may have none); no numeric analysis parameter is stored as text; every soft
link's target carries @target; every NXdata is valid; every @default chain ends in a valid NXdata, an NXentry's in
one step; the default plot is S_eq against T of the heating ramp; the frame stack is marked as images.
Usage: nexus_check.py RUN.h5. Prints one line per problem and exits 1 when there is any, else what silx shows."""
import sys

import h5py
import numpy
import silx.io.nxdata as nxdata

problems = []


def nx_class(obj):
    value = obj.attrs.get("NX_class")
    return value.decode() if isinstance(value, bytes) else value


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def walk(group, path):
    """Hard-linked members once; soft links checked for @target."""
    for name in group:
        link = group.get(name, getlink=True)
        member_path = f"{path.rstrip('/')}/{name}"
        if isinstance(link, h5py.SoftLink):
            target = group.file.get(link.path)
            if target is None:
                problems.append(f"{member_path}: dangling link to {link.path}")
            elif text(target.attrs.get("target", "")) != link.path:
                problems.append(f"{member_path}: its target {link.path} has no @target={link.path}")
            continue
        obj = group[name]
        if isinstance(obj, h5py.Group):
            check_group(obj, member_path)
            walk(obj, member_path)
        else:
            check_dataset(obj, member_path, group)


def check_group(group, path):
    cls = nx_class(group)
    if not cls:
        problems.append(f"{path}: a group without NX_class")
    if cls == "NXdata" and not nxdata.is_valid_nxdata(group):
        problems.append(f"{path}: NXdata silx cannot plot: {nxdata.NXdata(group).issues}")
    if "default" in group.attrs:
        target = group.get(text(group.attrs["default"]))
        if target is None:
            problems.append(f"{path}@default={text(group.attrs['default'])} names nothing")
        elif cls == "NXentry" and not nxdata.is_group_with_default_NXdata(group):
            problems.append(f"{path}@default does not name a valid NXdata ({nx_class(target)})")
        elif nxdata.get_default(group) is None:
            problems.append(f"{path}@default chain ends in no valid NXdata")


def check_dataset(dataset, path, parent):
    kind = dataset.dtype.kind
    if kind == "f" and "units" not in dataset.attrs:
        problems.append(f"{path}: floating-point values without @units")
    if kind in "SOU" and nx_class(parent) == "NXparameters" and dataset.shape == ():
        try:
            float(text(dataset[()]))
            problems.append(f"{path}: a number stored as text ({text(dataset[()])})")
        except ValueError:
            pass


def check_default_plot(f):
    default = nxdata.get_default(f)
    if default is None:
        problems.append("/@default: no valid NXdata")
        return None
    name = default.group.name
    signal = default.signal.name.split("/")[-1]  # silx's signal_name is the @long_name
    if signal != "S_eq" or default.axes_dataset_names != ["T"]:
        problems.append(f"default plot {name}: {signal} against {default.axes_dataset_names}, not S_eq against T")
        return None
    t = default.axes[0]
    if text(t.attrs.get("units")) != "K" or len(text(t.attrs.get("long_name", ""))) > 12:
        problems.append(f"default plot {name}: T needs @units=K and a short @long_name")
    values = t[()]
    run_t = f["/entry/analysis/run/temperature"][()]
    if len(values) < 3 or numpy.any(numpy.diff(values) <= 0):
        problems.append(f"default plot {name}: T is not a heating ramp ({values})")
    if not numpy.array_equal(values, run_t[: len(values)]):
        problems.append(f"default plot {name}: T is not the heating frames' (analysis/run/temperature)")
    return default


def check_frames(f):
    data = f.get("/entry/instrument/detector/data")
    if data is None:
        return
    if text(data.attrs.get("interpretation", "")) != "image":
        problems.append("/entry/instrument/detector/data: no @interpretation=image")
    plot = nxdata.NXdata(f["/entry/data"])
    if not plot.is_valid or plot.interpretation != "image":
        problems.append("/entry/data: not a valid NXdata of images")


def check_layout(f):
    expected = {
        "/entry/instrument/temperature_controller": "NXenvironment",
        "/entry/instrument/temperature_controller/sensor": "NXsensor",
        "/entry/instrument/temperature_controller/sensor/value_log": "NXlog",
        "/entry/sample/temperature_env": "NXenvironment",
        "/entry/sample/temperature_log": "NXlog",  # the link older readers use
    }
    for path, cls in expected.items():
        if path not in f or nx_class(f[path]) != cls:
            problems.append(f"{path}: not an {cls}")
    detector = f["/entry/instrument/detector"]
    for field in ("frame_start_number", "detector_readout_time", "gain_setting", "saturation_value",
                  "beam_center_x", "beam_center_y"):
        if field not in detector:
            problems.append(f"/entry/instrument/detector/{field}: missing")
    for field in ("detector_readout_time", "saturation_value", "beam_center_x", "beam_center_y"):
        if field in detector and "units" not in detector[field].attrs:
            problems.append(f"/entry/instrument/detector/{field}: no @units")
    for name in ("integrated", "structure_factor", "reduced_structure_factor", "reduced_pdf", "pair_distribution",
                 "entropy", "run/entropy", "run/entropy_derivative", "run/heat_flow"):
        path = f"/entry/analysis/{name}"
        if path not in f or nx_class(f[path]) != "NXdata":
            problems.append(f"{path}: no NXdata")


with h5py.File(sys.argv[1], "r") as f:
    check_group(f, "/")
    walk(f, "/")
    default = check_default_plot(f)
    check_frames(f)
    check_layout(f)
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    t = default.axes[0][()]
    print(f"silx opens {default.group.name}: {default.title!r}, {default.signal_name} "
          f"({text(default.signal.attrs['long_name'])}) against {text(default.axes[0].attrs['long_name'])}, "
          f"{len(t)} points {t[0]:.1f}-{t[-1]:.1f} K, auxiliary {default.auxiliary_signals_names}")
    frames = nxdata.NXdata(f["/entry/data"])
    print(f"frames: /entry/data {frames.signal.shape} as {frames.interpretation}, axes {frames.axes_names}")
