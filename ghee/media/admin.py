"""The media library in the dashboard: browse assets, edit their alt text.

Assets come in through imports (``ghee media import``, the job pipeline) which run the
safety checks, so the dashboard does not add them; deleting one also removes its file.
"""

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from ghee.media.models import MediaAsset
from ghee.media.services import delete_asset


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "filename",
        "organization",
        "content_type",
        "file_size",
        "dimensions",
        "alt_text",
        "created_at",
    ]
    list_display_links = ["thumbnail", "filename"]
    list_filter = ["organization", "content_type"]
    list_select_related = ["organization"]
    search_fields = ["file", "source_url", "alt_text", "sha256"]
    fields = [
        "preview",
        "alt_text",
        "organization",
        "link",
        "content_type",
        "file_size",
        "dimensions",
        "source_url",
        "sha256",
        "created_at",
    ]
    # Everything but the alt text is what the file is: shown, never edited.
    readonly_fields = [name for name in fields if name != "alt_text"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="")
    def thumbnail(self, asset: MediaAsset):
        if not asset.is_image:
            return asset.filename.rpartition(".")[2].upper()
        return format_html(
            '<img src="{}" alt="{}" height="48" loading="lazy">', asset.url, asset.alt_text
        )

    @admin.display(description="Preview")
    def preview(self, asset: MediaAsset):
        if not asset.is_image:
            return "—"
        return format_html('<img src="{}" alt="{}" height="240">', asset.url, asset.alt_text)

    @admin.display(description="URL")
    def link(self, asset: MediaAsset):
        return format_html('<a href="{0}">{0}</a>', asset.url)

    @admin.display(description="Size", ordering="size")
    def file_size(self, asset: MediaAsset) -> str:
        return filesizeformat(asset.size)

    @admin.display(description="Pixels")
    def dimensions(self, asset: MediaAsset) -> str:
        return f"{asset.width} x {asset.height}" if asset.is_image else "—"

    def delete_model(self, request, obj):
        delete_asset(obj)

    def delete_queryset(self, request, queryset):
        for asset in queryset:
            delete_asset(asset)
