"""The multipart parser, on literal bytes."""

from __future__ import annotations

import pytest

from mockserver.multipart import BodyError, Limits, boundary_of, parse_multipart

LIMITS = Limits(file=1_000, field=100)


def body(*parts: bytes) -> bytes:
    return b"".join(b"--B\r\n" + p + b"\r\n" for p in parts) + b"--B--\r\n"


def read(data: bytes, *, limits: Limits = LIMITS) -> list[tuple[str, str | None, bytes]]:
    return [(p.name, p.filename, bytes(p.data)) for p in parse_multipart(data, b"B", limits)]


def test_parts_in_order_with_filenames() -> None:
    data = body(
        b'Content-Disposition: form-data; name="sms_data"\r\n\r\n{"a": 1}',
        b'Content-Disposition: form-data; name="mms_media"; filename="p.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\x00\r\n\xd9",
    )
    assert read(data) == [
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


def test_a_file_over_the_cap() -> None:
    data = body(
        b'Content-Disposition: form-data; name="f"; filename="a"\r\n\r\n' + b"x" * 5_000_000
    )
    with pytest.raises(BodyError, match="a file of at most 1000 bytes"):
        read(data)


def test_a_text_field_over_its_cap() -> None:
    with pytest.raises(BodyError, match="a field of at most 100 bytes"):
        read(body(b'Content-Disposition: form-data; name="x"\r\n\r\n' + b"y" * 101))


def test_an_empty_body() -> None:
    with pytest.raises(BodyError, match="the request was empty"):
        read(b"")


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
        read(data)
