"""Django's GZipMiddleware, minus responses that serve byte ranges (media files)."""

from django.middleware.gzip import GZipMiddleware


class RangeAwareGZipMiddleware(GZipMiddleware):
    """Leave alone any response that says ``Accept-Ranges: bytes``.

    Byte ranges, Content-Length and the strong ETag of a media file all describe the stored
    bytes; gzipping the body on the way out would break all three (and media formats are
    compressed already).
    """

    def process_response(self, request, response):
        if response.get("Accept-Ranges") == "bytes":
            return response
        return super().process_response(request, response)
