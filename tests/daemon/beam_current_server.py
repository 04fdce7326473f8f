"""A Tango device with a writable BeamCurrent (mA), the storage ring current a beamline's suspender watches.

Started without a database by tests/daemon/suspenders_test.cpp:
    python3 beam_current_server.py test -ORBendPoint giop:tcp::PORT -nodb -dlist a/b/c
"""
from tango import AttrWriteType, DevState
from tango.server import Device, attribute, run


class BeamCurrentSource(Device):
    def init_device(self):
        super().init_device()
        self._current_mA = 100.0
        self.set_state(DevState.ON)

    @attribute(dtype=float, access=AttrWriteType.READ_WRITE, unit="mA")
    def BeamCurrent(self):
        return self._current_mA

    @BeamCurrent.write
    def BeamCurrent(self, value):
        self._current_mA = value


if __name__ == "__main__":
    run((BeamCurrentSource,))
