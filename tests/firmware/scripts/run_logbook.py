# The logbook under the real MicroPython: lossless codec, torn and truncated files, the
# bounded boot scan on a big ring, heap per record. Printed as name=value lines.
import gc
import os
import struct
import sys
import time

import logbook
import wire

DIR = sys.argv[1]
SEED = [12345]


def rnd(n):
    # a small LCG: the same numbers under every interpreter
    SEED[0] = (SEED[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return SEED[0] % n


def report(name, value):
    print("%s=%s" % (name, value))


def packet(tick, samples):
    n = len(samples)
    buf = bytearray(wire.HEADER_SIZE + 16 * n + wire.CRC_SIZE)
    struct.pack_into("<BBHI", buf, 0, wire.VERSION, wire.KIND_FULL, 0, tick)
    for i, s in enumerate(samples):
        struct.pack_into("<8h", buf, 8 + 16 * i, *s)
    c = wire.crc16(buf, len(buf) - 2)
    buf[-2] = c & 0xFF
    buf[-1] = c >> 8
    return buf


def walk(n, wild=False):
    """n samples: smooth with noise, or any int16 at all (the extremes included)."""
    out = []
    x = [0] * 8
    for i in range(n):
        if wild:
            s = tuple((rnd(65536) - 32768) if rnd(3) else (32767, -32768)[rnd(2)]
                      for _ in range(8))
        else:
            for c in range(8):
                x[c] = max(-32767, min(32767, x[c] + rnd(61) - 30 + (40 if (i // 50) % 2 else -40)))
            s = tuple(x)
        out.append(s)
    return out


def fresh(name, slots):
    path = DIR + "/" + name
    try:
        os.remove(path)
    except OSError:
        pass
    return path, logbook.Logbook(path, slots=slots)


def write(book, samples, boot=1, tick=0):
    for k in range(0, len(samples), 14):
        book.append(packet(tick + k, samples[k:k + 14]), boot)


def read(book, boot=None):
    out = []
    for _no, r in book.records(1, book.next_no):
        if boot is None or struct.unpack_from("<I", r, 12)[0] == boot:
            out += logbook.decode_body(r)
    return out


report("viper", logbook._enc is logbook._enc_viper)

# --- lossless, smooth and wild ---------------------------------------------------------------
for kind in ("smooth", "wild"):
    s = walk(1400, kind == "wild")
    path, book = fresh("codec.bin", 4096)
    write(book, s)
    book.seal()
    report(kind + "_lossless", read(book) == s)
    report(kind + "_bytes_per_sample", "%.2f" % (book.written * logbook.SLOT / len(s)))
    book.close()

# --- an angles-only packet (a small MTU) kept as it is, over as many records as it needs ----
path, book = fresh("angles.bin", 64)
ab = wire.Batcher(247, kind=wire.KIND_ANGLES)
for t in range(ab.per_packet):
    p = ab.add_counts(t, float(t), float(-t), 0.0, 0.0, 9.8, 0.0, 0.0, 0.0)
book.append(p, 3)
recs = [bytes(r) for _no, r in book.records(1, book.next_no)]
report("angles_records", len(recs))
report("angles_samples", sum(r[16] for r in recs) == ab.per_packet)
book.close()

# --- numbering across boots, boot ids kept ---------------------------------------------------
path, book = fresh("boots.bin", 64)
a = walk(300)
write(book, a, boot=11)
book.close()  # (a clean power-down seals the open record)
book = logbook.Logbook(path, slots=64)
first2 = book.next_no
b = walk(200)
write(book, b, boot=22, tick=0)
book.seal()
report("boots_numbering", first2 > 1 and book.next_no > first2)
report("boots_kept", read(book, 11) == a and read(book, 22) == b)
book.close()

# --- a truncated file: only the torn record is lost, nothing is recreated --------------------
path, book = fresh("torn.bin", 256)
s = walk(2000)
write(book, s)
book.seal()
n = book.written
whole = [len(logbook.decode_body(r)) for _no, r in book.records(1, book.next_no)]
book.close()
size = os.stat(path)[6]
with open(path, "rb") as f:
    data = f.read()
with open(path, "wb") as f:  # the power went in the middle of the last record's write
    f.write(data[:size - logbook.SLOT + 100])
book = logbook.Logbook(path, slots=256)
got = read(book)
report("truncated_records_left", len(list(book.records(1, book.next_no))))
report("truncated_records_written", n)
report("truncated_samples_lost", len(s) - len(got))
report("truncated_last_record_samples", whole[-1])
report("truncated_prefix_intact", got == s[:len(got)])
write(book, walk(100), tick=5000)  # goes on after the torn record
book.seal()
report("truncated_goes_on", book.next_no > n)
book.close()

# --- a torn write in the middle of the ring ---------------------------------------------------
path, book = fresh("mid.bin", 256)
write(book, s)
book.seal()
book.close()
with open(path, "r+b") as f:
    f.seek(10 * logbook.SLOT + 60)
    f.write(bytes(100))  # half a record written over
book = logbook.Logbook(path, slots=256)
recs = list(book.records(1, book.next_no))
report("midtorn_records", len(recs))
report("midtorn_corrupt", book.corrupt)
book.close()

# --- the boot scan on a big ring: reads counted, every position of the newest ---------------
SLOTS = 60000  # > 14 MiB: a 16-MB board's whole filesystem
path = DIR + "/big.bin"
with open(path, "wb") as f:  # only the headers the scan reads (the rest stays zeros)
    zero = bytes(256 * logbook.SLOT)
    for _ in range(SLOTS // 256):
        f.write(zero)
    f.write(bytes((SLOTS % 256) * logbook.SLOT))
worst = 0
ok = True
slowest = 0
for newest_slot, laps in ((0, 0), (1, 0), (SLOTS // 2, 0), (SLOTS - 1, 0), (0, 3),
                          (12345, 3), (SLOTS - 2, 3), (SLOTS - 1, 3)):
    # lay out the ring: slot i holds lap k (i <= newest) or k - 1 (after), none on lap 0
    hdr = bytearray(4)
    with open(path, "r+b") as f:
        for i in range(SLOTS):
            k = laps if i <= newest_slot else laps - 1
            no = k * SLOTS + i + 1 if k >= 0 else 0
            struct.pack_into("<I", hdr, 0, no)
            f.seek(i * logbook.SLOT + 8)
            f.write(hdr)
        # torn / corrupt headers around the middle, where the search probes first
        for i in (SLOTS // 2, SLOTS // 2 + 1, SLOTS // 4, 3 * SLOTS // 4):
            if i != newest_slot:
                f.seek(i * logbook.SLOT + 8)
                f.write(b"\xde\xad\xbe\xef")
    t0 = time.ticks_ms()
    book = logbook.Logbook(path, slots=SLOTS)
    slowest = max(slowest, time.ticks_diff(time.ticks_ms(), t0))
    want = laps * SLOTS + newest_slot + 2
    if book.next_no != want:
        ok = False
        report("scan_wrong_%d_%d" % (newest_slot, laps), "%d!=%d" % (book.next_no, want))
    worst = max(worst, book.reads)
    book.close()
report("scan_correct", ok)
report("scan_reads_max", worst)
report("scan_ms_max", slowest)
os.remove(path)

# --- heap per appended record (the sample path's cost) ----------------------------------------
path, book = fresh("heap.bin", 4096)
s = walk(14 * 200)
pk = [packet(k, s[k:k + 14]) for k in range(0, len(s), 14)]
for p in pk[:20]:
    book.append(p, 1)
gc.collect()
gc.disable()
a0 = gc.mem_alloc()
w0 = book.written
for p in pk[20:]:
    book.append(p, 1)
used = gc.mem_alloc() - a0
gc.enable()
report("heap_bytes_per_record", "%.1f" % (used / (book.written - w0)))
report("heap_bytes_per_sample", "%.2f" % (used / (14 * (len(pk) - 20))))
book.close()

# --- a ring sized from the filesystem keeps its size once it has wrapped -------------------
path, book = fresh("auto.bin", 32)
write(book, walk(32 * 30))  # more than 32 records: wrapped
book.seal()
n0 = book.next_no
book.close()
auto = logbook.Logbook(path)  # the free space says far more than 32 slots
report("auto_keeps_wrapped_ring", auto.slots == 32 and auto.next_no == n0)
auto.close()
os.remove(path)


class _FixedFree:
    # the real filesystem's free space moves with every other test writing beside this one:
    # a filesystem of 4-kB blocks with exactly 1 000 free, the rest of os as it is
    def statvfs(self, _d):
        return (4096, 4096, 2000, 1000, 1000, 0, 0, 0, 0, 255)

    def stat(self, p):
        return os.stat(p)

    def getcwd(self):
        return os.getcwd()


real_os, logbook.os = logbook.os, _FixedFree()
auto = logbook.Logbook(path)
want = (4096 * 1000 - logbook.RESERVE) // logbook.SLOT  # 15 616 slots
report("auto_sized_from_free_space", auto.slots == want and logbook.auto_slots(path) == want)
auto.close()
logbook.os = real_os
