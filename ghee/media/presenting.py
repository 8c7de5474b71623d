"""An asset as the media API answers it (and ``ghee media list --json`` prints it)."""

from ghee.media.models import MediaAsset


def asset_json(asset: MediaAsset) -> dict:
    return {
        "id": asset.id,
        "url": asset.url,
        "content_type": asset.content_type,
        "size": asset.size,
        "sha256": asset.sha256,
        "width": asset.width,
        "height": asset.height,
        "alt": asset.alt_text,
        "source_url": asset.source_url,
        "created_at": asset.created_at.isoformat().replace("+00:00", "Z"),
    }
