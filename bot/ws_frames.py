"""A faster client frame builder for slack_sdk's built-in Socket Mode client.

RFC 6455 makes a client mask every byte it sends. slack_sdk's builder does it one byte at a time in a Python
generator: about a millisecond of GIL for a 10 kB answer carried in an ack, which made Socket Mode acks 1.6x
slower than the bare app's under load (bench/bench_ack.py). This builder makes the same frames, masking with
one integer XOR. `install()` swaps it in where bot/slack_patches.py finds slack_sdk's builder as this was written
for; tests/test_ws_frames.py checks the frames byte for byte against slack_sdk's own.
"""

from __future__ import annotations

import os
import struct

from bot import slack_patches


def mask(data: bytes, key: bytes) -> bytes:
    if not data:
        return data
    repeated = (key * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(data), "big")


def build_frame(
    payload: str | bytes,
    opcode: int,
    fin: int = 1,
    rsv1: int = 0,
    rsv2: int = 0,
    rsv3: int = 0,
    masked: int = 1,
    key: bytes | None = None,
) -> bytes:
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    header = bytes([fin << 7 | rsv1 << 6 | rsv2 << 5 | rsv3 << 4 | opcode])
    if len(data) <= 125:
        header += bytes([masked << 7 | len(data)])
    elif len(data) <= 0xFFFF:
        header += struct.pack("!BH", masked << 7 | 126, len(data))
    else:
        header += struct.pack("!BQ", masked << 7 | 127, len(data))
    key = key if key is not None else os.urandom(4)
    return header + key + mask(data, key)


def install() -> bool:
    """Uses build_frame in slack_sdk's built-in client; False (and nothing changed) if its builder differs."""
    return slack_patches.apply_frame_builder(build_frame)
