"""Organizations with their locales, and API tokens (created through the service, shown once)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse

from ghee.accounts.authentication import token_cache
from ghee.accounts.models import ApiToken, Locale, Organization
from ghee.accounts.services import create_token, locale_shape_locked, revoke_token


class LocaleFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if kept and sum(1 for data in kept if data.get("is_default")) != 1:
            raise ValidationError("Exactly one locale must be the default.")
        org = self.instance
        if org.pk and locale_shape_locked(org):
            had_locales = Locale.objects.filter(organization=org).exists()
            if had_locales != bool(kept):
                raise ValidationError(
                    "This organization has items: it cannot switch between flat field data "
                    "and data nested under locales."
                )


class LocaleInline(admin.TabularInline):
    model = Locale
    formset = LocaleFormSet
    fields = ["code", "name", "order", "is_default"]
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "locale_codes", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = ["created_at"]
    inlines = [LocaleInline]

    @admin.display(description="Locales")
    def locale_codes(self, obj: Organization) -> str:
        codes = [
            f"{loc.code} (default)" if loc.is_default else loc.code for loc in obj.locales.all()
        ]
        return ", ".join(codes) or "— (flat)"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("locales")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Adding a token calls ``create_token`` and shows its text on one page, once."""

    list_display = [
        "prefix",
        "organization",
        "kind",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["kind", ("revoked_at", admin.EmptyFieldListFilter), "organization"]
    search_fields = ["prefix", "name", "organization__slug"]
    actions = ["revoke"]
    created_template = "admin/accounts/apitoken/created.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "kind", "name"]
        return [
            "organization",
            "kind",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["organization", "kind", "prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, clear = create_token(obj.organization, obj.kind, obj.name)
        # The admin carries on with `obj` (history entry, redirect): make it the saved row.
        for attribute in ("id", "prefix", "digest", "created_at"):
            setattr(obj, attribute, getattr(token, attribute))
        obj._state.adding, obj._state.db = False, token._state.db
        obj.clear_text = clear
        return None

    def response_add(self, request, obj, post_url_continue=None):
        clear = getattr(obj, "clear_text", None)
        if clear is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Token created",
            "token": obj,
            "clear_text": clear,
        }
        return TemplateResponse(request, self.created_template, context)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            revoke_token(token)
            count += 1
        token_cache.clear()
        self.message_user(
            request,
            f"Revoked {count} token(s). Other server processes stop accepting them within "
            "GHEE_TOKEN_CACHE_SECONDS.",
            messages.SUCCESS,
        )
