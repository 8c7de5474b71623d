"""File types come from the bytes; images are checked by Pillow without decoding pixels."""

import io

import pytest
from PIL import features

from ghee.media import sniffing
from ghee.media.inspection import MediaRejected, inspect_file
from tests.media import samples


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.image_bytes("JPEG"), sniffing.JPEG),
        (samples.image_bytes("PNG"), sniffing.PNG),
        (samples.image_bytes("GIF"), sniffing.GIF),
        (samples.image_bytes("WEBP"), sniffing.WEBP),
        (samples.AVIF_HEADER, sniffing.AVIF),
        (samples.SVG, sniffing.SVG),
        (samples.SVG_WITH_SCRIPT, sniffing.SVG),
        (samples.PDF, sniffing.PDF),
        (samples.MP4, sniffing.MP4),
        (samples.WEBM, sniffing.WEBM),
        (samples.MP3_ID3, sniffing.MP3),
        (samples.MP3_FRAME, sniffing.MP3),
        (samples.DOCX, sniffing.DOCX),
        (samples.XLSX, sniffing.XLSX),
        (samples.PPTX, sniffing.PPTX),
        (samples.ODT, sniffing.ODT),
    ],
)
def test_known_types_are_recognised(data, expected):
    assert sniffing.sniff(io.BytesIO(data)) == expected


@pytest.mark.parametrize(
    "data",
    [
        samples.HTML,
        b"<html><body>not an image</body></html>",
        b"plain text that says it is a PNG",
        b'{"json": true}',
        b"\x7fELF\x02\x01\x01" + b"\0" * 64,
        samples.HEIC_HEADER,
        samples.MKV,
        samples.PLAIN_ZIP,
        b"PK\x03\x04 truncated zip",
        b"",
    ],
)
def test_other_files_are_not_recognised(data):
    assert sniffing.sniff(io.BytesIO(data)) is None


def inspect(tmp_path, data: bytes):
    path = tmp_path / "file"
    path.write_bytes(data)
    return inspect_file(path)


def test_images_report_their_size(tmp_path):
    result = inspect(tmp_path, samples.image_bytes("JPEG", 40, 30))
    assert (result.file_type, result.width, result.height) == (sniffing.JPEG, 40, 30)


@pytest.mark.skipif(not features.check("avif"), reason="Pillow built without AVIF")
def test_a_real_avif_image_is_checked(tmp_path):
    result = inspect(tmp_path, samples.image_bytes("AVIF", 8, 6))
    assert (result.file_type, result.width, result.height) == (sniffing.AVIF, 8, 6)


def test_an_image_bomb_is_refused_from_its_header(tmp_path):
    with pytest.raises(MediaRejected, match="too large"):
        inspect(tmp_path, samples.png_claiming(50_000, 50_000))


def test_images_over_the_pixel_limit_are_refused(tmp_path, settings):
    settings.GHEE_MEDIA_MAX_IMAGE_PIXELS = 100
    with pytest.raises(MediaRejected, match=r"too large: the image is 20 x 10 pixels"):
        inspect(tmp_path, samples.png_bytes(20, 10))


def test_a_damaged_image_is_refused(tmp_path):
    png = samples.png_bytes(20, 10)
    damaged = png[:40] + bytes(b ^ 0xFF for b in png[40:60]) + png[60:]
    with pytest.raises(MediaRejected, match="not an allowed file type"):
        inspect(tmp_path, damaged)


def test_html_is_not_an_allowed_type(tmp_path):
    with pytest.raises(MediaRejected, match=r"^not an allowed file type$"):
        inspect(tmp_path, samples.HTML)


def test_the_allowed_types_setting_narrows_the_list(tmp_path, settings):
    settings.GHEE_MEDIA_ALLOWED_TYPES = ["image/png"]
    assert inspect(tmp_path, samples.png_bytes()).file_type == sniffing.PNG
    with pytest.raises(MediaRejected, match="not an allowed file type"):
        inspect(tmp_path, samples.PDF)
