"""The media API: ``POST /v2/media/`` (upload or URL) and ``GET /v2/media/`` (the library)."""
