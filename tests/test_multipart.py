"""The streaming multipart reader, on literal bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mockserver.multipart import BodyError, Limits, boundary_of, read_multipart

LIMITS = Limits(body=10_000, file=1_000, field=100)


def body(*parts: bytes) -> bytes:
    return b"".join(b"--B\r\n" + p + b"\r\n" for p in parts) + b"--B--\r\n"


async def chunks(data: bytes, size: int, consumed: list[int]) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        consumed.append(start + size)
        yield data[start : start + size]


def read(
    data: bytes, *, size: int = 7, limits: Limits = LIMITS, consumed: list[int] | None = None
) -> list[tuple[str, str | None, bytes]]:
    parts = asyncio.run(
        read_multipart(
            chunks(data, size, consumed if consumed is not None else []),
            b"B",
            limits,
            declared=None,
        )
    )
    return [(p.name, p.filename, bytes(p.data)) for p in parts]


def test_parts_in_order_with_filenames_across_chunk_boundaries() -> None:
    data = body(
        b'Content-Disposition: form-data; name="sms_data"\r\n\r\n{"a": 1}',
        b'Content-Disposition: form-data; name="mms_media"; filename="p.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\x00\r\n\xd9",
    )
    for size in (1, 3, 7, 64, len(data)):
        assert read(data, size=size) == [
            ("sms_data", None, b'{"a": 1}'),
            ("mms_media", "p.jpg", b"\xff\xd8\xff\x00\r\n\xd9"),
        ]


def test_duplicates_are_kept_for_the_provider_to_judge() -> None:
    data = body(
        b'Content-Disposition: form-data; name="x"\r\n\r\n1',
        b'Content-Disposition: form-data; name="x"\r\n\r\n2',
    )
    assert [p[2] for p in read(data)] == [b"1", b"2"]


def test_truncated_body() -> None:
    data = body(b'Content-Disposition: form-data; name="x"\r\n\r\nvalue')[:-6]
    with pytest.raises(BodyError, match="truncated"):
        read(data)


def test_a_file_far_over_the_cap_is_refused_without_reading_the_rest() -> None:
    data = body(
        b'Content-Disposition: form-data; name="f"; filename="a"\r\n\r\n' + b"x" * 5_000_000
    )
    consumed: list[int] = []
    big = Limits(body=10_000_000, file=1_000, field=100)
    with pytest.raises(BodyError, match="at most 1000 bytes"):
        read(data, size=512, limits=big, consumed=consumed)
    assert max(consumed) < 4_096  # stopped within a few chunks of the cap


def test_a_text_field_over_its_cap() -> None:
    with pytest.raises(BodyError, match="a field of at most 100 bytes"):
        read(body(b'Content-Disposition: form-data; name="x"\r\n\r\n' + b"y" * 101))


def test_body_over_the_cap_by_declared_length() -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover

    with pytest.raises(BodyError, match="at most 10000 bytes"):
        asyncio.run(read_multipart(never(), b"B", LIMITS, declared=10_001))


def test_body_over_the_cap_while_streaming() -> None:
    data = body(b'Content-Disposition: form-data; name="f"; filename="a"\r\n\r\n' + b"y" * 20_000)
    roomy_file = Limits(body=10_000, file=1_000_000, field=100)
    with pytest.raises(BodyError, match="request body of at most 10000 bytes"):
        read(data, size=1000, limits=roomy_file)


def test_garbage_is_malformed_not_a_crash() -> None:
    with pytest.raises(BodyError):
        read(b"--B\r\nno headers at all\r\n\r\n--B--\r\n")


def test_boundary_of() -> None:
    assert boundary_of("multipart/form-data; boundary=abc") == b"abc"
    assert boundary_of('multipart/form-data; boundary="a b"') == b"a b"
    assert boundary_of("multipart/form-data") is None


def test_too_many_parts() -> None:
    data = body(*[b'Content-Disposition: form-data; name="x"\r\n\r\n1'] * 65)
    with pytest.raises(BodyError, match="at most 64 parts"):
        read(data, size=4096)
