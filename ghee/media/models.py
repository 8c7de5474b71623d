"""An organization's media library: one row per distinct file (by SHA-256)."""

from django.db import models

from ghee.accounts.models import Organization


class MediaAsset(models.Model):
    """A stored file. The same bytes in one organization are one asset with one URL."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="media_assets"
    )
    # ``<key>/<filename>`` in the media storage (ghee.media.storage explains the key).
    file = models.FileField(max_length=255, unique=True, editable=False)
    # The URL the file was first imported from (empty for uploads).
    source_url = models.TextField(blank=True, editable=False)
    # Sniffed from the bytes; never the Content-Type a server claimed.
    content_type = models.CharField(max_length=100, editable=False)
    size = models.PositiveBigIntegerField(editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    alt_text = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sha256"], name="media_asset_unique_bytes"
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="media_asset_recent")]

    def __str__(self) -> str:
        return self.filename

    @property
    def filename(self) -> str:
        return self.file.name.rpartition("/")[2]

    @property
    def extension(self) -> str:
        return self.filename.rpartition(".")[2].upper()

    @property
    def url(self) -> str:
        return self.file.url

    @property
    def is_image(self) -> bool:
        return self.width is not None
