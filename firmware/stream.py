"""The belt unit's per-sample loop: fuse, express in the pelvis frame, batch for notification.

``Stream(rate_hz, mtu)``; ``sample(gx, gy, gz, ax, ay, az, dt)`` returns a finished packet (a
memoryview, valid until the next call) or None. Used unchanged by the device application and by
the host's virtual device, so both send exactly the same bytes.

Pelvis angles come from the filter's up vector turned into the pelvis frame by ``mount``, the
sensor-to-pelvis rotation (row-major 3x3; identity until the wearer is calibrated):
roll = atan2(up_y, up_z) (+ = right side lower), pitch = -asin(up_x) (+ = anterior), degrees.
When the MTU only allows angle-only packets, samples are decimated so that at most
``MAX_NOTIFY_HZ`` notifications are sent per second.

Cost (floats are boxed on the ESP32): the up vector is written into a preallocated list, the
angles go to the batcher in counts (the degree and count scaling is one multiplication), and
``roll``/``pitch`` in degrees are computed only when read (the alerts read them once a poll).
Measured per sample by ``beltline bench fusion`` (``stream_heap_blocks_per_sample``).
"""

import math

import fusion
import wire

try:
    import micropython
except ImportError:  # CPython (the host): MicroPython's code emitters do not exist there

    class micropython:  # noqa: N801 -- stands in for the module of that name
        native = staticmethod(lambda f: f)


MAX_NOTIFY_HZ = 25
_RAD2DEG = 180.0 / math.pi
_COUNTS = _RAD2DEG / wire.ANGLE_LSB  # angle counts per radian
_NCOUNTS = -_COUNTS


class Stream:
    def __init__(self, rate_hz, mtu=23, mount=None):
        self.attitude = fusion.Attitude(rate_hz)
        self.rate_hz = rate_hz
        self.mount = list(mount) if mount is not None else [1.0, 0.0, 0.0, 0.0, 1.0, 0.0,
                                                            0.0, 0.0, 1.0]
        self.tick = 0
        self._roll = 0.0  # the newest pelvis angles, in counts of wire.ANGLE_LSB
        self._pitch = 0.0
        self._up = [0.0, 0.0, 0.0]
        self.set_mtu(mtu)

    @property
    def roll(self):
        """The newest pelvis roll (obliquity), degrees, + = right side lower."""
        return self._roll * wire.ANGLE_LSB

    @property
    def pitch(self):
        """The newest pelvis pitch (tilt), degrees, + = anterior."""
        return self._pitch * wire.ANGLE_LSB

    def set_mtu(self, mtu, kind=None):
        """Size the batches for a newly negotiated MTU (or force a layout); returns the packet
        that was being filled, finished, or None."""
        last = None
        old = getattr(self, "batcher", None)
        if old is not None:
            last = old.flush()
            last = bytes(last) if last is not None else None
        self.batcher = wire.Batcher(mtu, kind=kind)
        if old is not None:
            self.batcher.seq = old.seq
        per_s = self.rate_hz / self.batcher.per_packet  # notifications per second, stride 1
        stride = 1
        while per_s / stride > MAX_NOTIFY_HZ and stride < wire.MAX_STRIDE:
            stride += 1
        self.batcher.set_stride(stride)
        return last

    @micropython.native
    def sample(self, gx, gy, gz, ax, ay, az, dt):
        att = self.attitude
        att.update(gx, gy, gz, ax, ay, az, dt)
        tick = self.tick
        self.tick = tick + 1
        b = self.batcher
        if tick % b.stride:
            return None
        u = self._up
        att.up_into(u)
        ux = u[0]
        uy = u[1]
        uz = u[2]
        m = self.mount
        px = m[0] * ux + m[1] * uy + m[2] * uz
        py = m[3] * ux + m[4] * uy + m[5] * uz
        pz = m[6] * ux + m[7] * uy + m[8] * uz
        if px > 1.0:
            px = 1.0
        elif px < -1.0:
            px = -1.0
        roll = math.atan2(py, pz) * _COUNTS
        pitch = math.asin(px) * _NCOUNTS
        self._roll = roll
        self._pitch = pitch
        return b.add_counts(tick, roll, pitch, ax, ay, az, gx, gy, gz)

    @micropython.native
    def sample_raw(self, gx, gy, gz, ax, ay, az):
        """``sample`` without the filter, the angles sent as 0: while the unit dozes nothing on
        it reads them (no alerts), and the host fuses the raw samples itself. Call
        ``restart_filter`` before ``sample`` again."""
        tick = self.tick
        self.tick = tick + 1
        b = self.batcher
        if tick % b.stride:
            return None
        return b.add_counts(tick, 0.0, 0.0, ax, ay, az, gx, gy, gz)

    def restart_filter(self):
        """The attitude is unknown again after raw samples (the learnt gyro bias is kept)."""
        self.attitude._restart()
        self._roll = self._pitch = 0.0

    def flush(self):
        return self.batcher.flush()
