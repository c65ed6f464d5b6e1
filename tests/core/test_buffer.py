"""ReceiveBuffer: framing only, and the message-size cap checked as soon as a header is in."""

from __future__ import annotations

import pytest

from pgproto import ProtocolError
from pgproto._buffer import DEFAULT_MAX_MESSAGE_SIZE, ReceiveBuffer

from .helpers import i32, msg


def extract_all(buffer: ReceiveBuffer) -> list[tuple[int, bytes]]:
    messages = []
    while (message := buffer.maybe_extract()) is not None:
        messages.append(message)
    return messages


def test_empty_buffer_has_no_message() -> None:
    buffer = ReceiveBuffer()
    assert buffer.maybe_extract() is None
    assert len(buffer) == 0
    assert buffer.max_message_size == DEFAULT_MAX_MESSAGE_SIZE


def test_whole_messages_come_out_in_order() -> None:
    buffer = ReceiveBuffer()
    buffer.feed(msg(b"Z", b"I") + msg(b"1") + msg(b"C", b"SELECT 1\0"))
    assert extract_all(buffer) == [(ord("Z"), b"I"), (ord("1"), b""), (ord("C"), b"SELECT 1\0")]
    assert len(buffer) == 0


def test_one_byte_at_a_time() -> None:
    data = msg(b"Z", b"I") + msg(b"S", b"a\0b\0")
    buffer = ReceiveBuffer()
    out = []
    for i in range(len(data)):
        buffer.feed(data[i : i + 1])
        out.extend(extract_all(buffer))
    assert len(buffer) == 0
    assert out == [(ord("Z"), b"I"), (ord("S"), b"a\0b\0")]


@pytest.mark.parametrize("cut", range(1, 6))
def test_header_cut_anywhere_waits(cut: int) -> None:
    data = msg(b"Z", b"T")
    buffer = ReceiveBuffer()
    buffer.feed(data[:cut])
    assert buffer.maybe_extract() is None
    buffer.feed(data[cut:])
    assert buffer.maybe_extract() == (ord("Z"), b"T")


def test_large_message_collected_in_chunks() -> None:
    body = bytes(range(256)) * 1024  # 256 KiB: past the chunking threshold
    data = msg(b"d", body) + msg(b"c")
    buffer = ReceiveBuffer()
    buffer.feed(data[:100])
    assert buffer.maybe_extract() is None
    for start in range(100, len(data), 7000):
        buffer.feed(data[start : start + 7000])
        if start + 7000 < len(body) + 5:
            assert buffer.maybe_extract() is None
    assert len(buffer) == len(data)
    assert extract_all(buffer) == [(ord("d"), body), (ord("c"), b"")]


@pytest.mark.parametrize("length", [-1, 0, 3, -(2**31)])
def test_length_below_four_is_refused(length: int) -> None:
    buffer = ReceiveBuffer()
    buffer.feed(b"Z" + i32(length))
    with pytest.raises(ProtocolError, match=rf"'Z'.*length {length}"):
        buffer.maybe_extract()


def test_length_over_the_cap_is_refused_from_the_header_alone() -> None:
    buffer = ReceiveBuffer(max_message_size=100)
    buffer.feed(b"D" + i32(101))  # no body at all yet
    with pytest.raises(ProtocolError, match=r"'D'.*length 101.*100"):
        buffer.maybe_extract()


def test_length_at_the_cap_is_accepted() -> None:
    buffer = ReceiveBuffer(max_message_size=100)
    buffer.feed(msg(b"d", b"x" * 96))
    assert buffer.maybe_extract() == (ord("d"), b"x" * 96)


def test_default_cap_refuses_two_gigabytes_without_buffering() -> None:
    buffer = ReceiveBuffer()
    buffer.feed(b"d" + i32(2**31 - 1))
    with pytest.raises(ProtocolError, match="'d'"):
        buffer.maybe_extract()
