"""bot/ws_frames.py makes exactly the frames slack_sdk's built-in Socket Mode client makes."""

import random
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.socket_mode.builtin import internals

from bot import ws_frames


@given(st.one_of(st.binary(max_size=70_000), st.text(max_size=3000)), st.binary(min_size=4, max_size=4))
def test_frames_equal_slack_sdks(payload, key):
    with mock.patch.object(random, "choices", return_value=list(key)):
        theirs = internals._build_data_frame_for_sending(payload, 1)
    ours = ws_frames.build_frame(payload, 1, key=key)
    length = len(payload.encode() if isinstance(payload, str) else payload)
    if length <= 0xFFFF:  # slack_sdk writes a 16-bit length even past 64 kB: only RFC 6455's 64-bit form is right
        assert ours == theirs
    assert ws_frames.mask(ws_frames.mask(b"x" * length, key), key) == b"x" * length


def test_install_swaps_the_builder_in():
    from slack_sdk.socket_mode.builtin import connection

    original = connection._build_data_frame_for_sending
    try:
        assert ws_frames.install()
        assert connection._build_data_frame_for_sending is ws_frames.build_frame
    finally:
        connection._build_data_frame_for_sending = original
