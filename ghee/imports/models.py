"""What an import remembers between runs, so that running it again is a sync.

``ImportedItem`` maps one item of a source (a ButterCMS account, or anything speaking its
Read API) to the ghee item it became, with a hash of the source's content when it was last
written: a second run creates what is new, rewrites what changed and leaves the rest alone.
A row is written in the same transaction as the create job it waits for (``job_id``), so an
import killed at any point resumes without creating an item twice.

``ImportedMedia`` maps a source media URL to the asset it became, so each file is
downloaded once however many items (and runs) use it.
"""

from django.db import models

from ghee.accounts.models import Organization
from ghee.content.models import Item
from ghee.media.models import MediaAsset


class ImportedItem(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # The source's base URL (e.g. https://api.buttercms.com), without a trailing slash.
    source = models.CharField(max_length=300)
    collection_key = models.CharField(max_length=100)
    source_id = models.BigIntegerField()
    item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The create job this row waits for while ``item`` is empty (an interrupted run).
    job_id = models.BigIntegerField(null=True, blank=True)
    # SHA-256 of the source content last written in full; "" until the item is complete.
    content_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "collection_key", "source_id"],
                name="imported_item_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.collection_key} {self.source_id} -> {self.item_id}"


class ImportedMedia(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the source URL: URLs can be longer than an index allows.
    url_hash = models.CharField(max_length=64)
    source_url = models.TextField()
    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "url_hash"], name="imported_media_once")
        ]

    def __str__(self) -> str:
        return f"{self.source_url[:80]} -> {self.asset_id}"
