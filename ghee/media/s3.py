"""The S3-compatible backend, imported only when GHEE_S3_BUCKET is set (it loads boto3)."""

from storages.backends.s3 import S3Storage

from ghee.media.storage import file_type_for_name


class MediaS3Storage(S3Storage):
    """A bucket whose objects carry the headers ghee itself sends when it serves a file.

    S3 stores headers per object, so each upload sets its sniffed Content-Type, the
    long-lived immutable Cache-Control, and ``Content-Disposition: attachment`` for SVG (a
    browser then never renders it as a page, so its scripts can't run).
    """

    def get_object_parameters(self, name):
        params = super().get_object_parameters(name)
        file_type = file_type_for_name(name)
        if file_type is not None:
            params["ContentType"] = file_type.content_type
            if file_type.is_svg:
                params["ContentDisposition"] = "attachment"
        params.setdefault("CacheControl", "public, max-age=31536000, immutable")
        return params
