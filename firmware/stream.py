"""The belt unit's per-sample loop: fuse, express in the pelvis frame, batch for notification.

``Stream(rate_hz, mtu)``; ``sample(gx, gy, gz, ax, ay, az, dt)`` returns a finished packet (a
memoryview, valid until the next call) or None. Used unchanged by the device application and by
the host's virtual device, so both send exactly the same bytes.

Pelvis angles come from the filter's up vector turned into the pelvis frame by ``mount``, the
sensor-to-pelvis rotation (row-major 3x3; identity until the wearer is calibrated):
roll = atan2(up_y, up_z) (+ = right side lower), pitch = -asin(up_x) (+ = anterior), degrees.
When the MTU only allows angle-only packets, samples are decimated so that at most
``MAX_NOTIFY_HZ`` notifications are sent per second.
"""

import math

import fusion
import wire

MAX_NOTIFY_HZ = 25
_RAD2DEG = 180.0 / math.pi


class Stream:
    def __init__(self, rate_hz, mtu=23, mount=None):
        self.attitude = fusion.Attitude(rate_hz)
        self.rate_hz = rate_hz
        self.mount = list(mount) if mount is not None else [1.0, 0.0, 0.0, 0.0, 1.0, 0.0,
                                                            0.0, 0.0, 1.0]
        self.tick = 0
        self.roll = 0.0
        self.pitch = 0.0
        self.set_mtu(mtu)

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

    def sample(self, gx, gy, gz, ax, ay, az, dt):
        self.attitude.update(gx, gy, gz, ax, ay, az, dt)
        tick = self.tick
        self.tick = tick + 1
        if tick % self.batcher.stride:
            return None
        ux, uy, uz = self.attitude.up()
        m = self.mount
        px = m[0] * ux + m[1] * uy + m[2] * uz
        py = m[3] * ux + m[4] * uy + m[5] * uz
        pz = m[6] * ux + m[7] * uy + m[8] * uz
        if px > 1.0:
            px = 1.0
        elif px < -1.0:
            px = -1.0
        roll = math.atan2(py, pz) * _RAD2DEG
        pitch = -math.asin(px) * _RAD2DEG
        self.roll = roll  # the newest pelvis angles, for the on-device alerts
        self.pitch = pitch
        return self.batcher.add_full(tick, roll, pitch, ax, ay, az, gx, gy, gz)

    def flush(self):
        return self.batcher.flush()
