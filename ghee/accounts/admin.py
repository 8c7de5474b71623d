"""Organizations with their locales and members, API tokens (created through the service,
shown once), and users with their memberships.

Staff users see only their organizations (``admin_scoping``; docs/dashboard.md); creating
and deleting organizations and managing users and memberships is for superusers.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse

from ghee.accounts.admin_scoping import (
    OrganizationScopedAdmin,
    OrganizationScopedInline,
    member_organization_ids,
)
from ghee.accounts.authentication import token_cache
from ghee.accounts.models import ApiToken, Locale, Membership, Organization
from ghee.accounts.services import create_token, locale_shape_locked, revoke_token


def _is_superuser(request) -> bool:
    return member_organization_ids(request) is None


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


class LocaleInline(OrganizationScopedInline, admin.TabularInline):
    model = Locale
    formset = LocaleFormSet
    fields = ["code", "name", "order", "is_default"]
    extra = 0


class MembershipInline(admin.TabularInline):
    """Who works in the organization. Django's permissions: superusers only."""

    model = Membership
    fields = ["user", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]
    extra = 0
    verbose_name = "member"
    verbose_name_plural = "members (staff users who see this organization in the dashboard)"


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    """Members may rename their organization and edit its locales; only superusers add,
    delete or change who is a member."""

    organization_field = "pk"
    list_display = ["slug", "name", "locale_codes", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = ["created_at"]
    inlines = [LocaleInline, MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # The slug names the organization in commands and scripts: superusers change it.
        return ["created_at"] if _is_superuser(request) else ["slug", "created_at"]

    def has_add_permission(self, request):
        return _is_superuser(request) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return _is_superuser(request) and super().has_delete_permission(request, obj)

    @admin.display(description="Locales")
    def locale_codes(self, obj: Organization) -> str:
        codes = [
            f"{loc.code} (default)" if loc.is_default else loc.code for loc in obj.locales.all()
        ]
        return ", ".join(codes) or "— (flat)"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("locales")


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    """Adding a token calls ``create_token`` and shows its text on one page, once.

    Tokens are revoked, not deleted (a revoked token's row says when it was last used);
    only superusers may delete one.
    """

    list_display = [
        "name_or_kind",
        "kind",
        "organization",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_display_links = ["name_or_kind"]
    list_filter = ["kind", TokenStatusFilter, "organization"]
    list_select_related = ["organization"]
    search_fields = ["prefix", "name", "organization__slug"]
    actions = ["revoke"]
    created_template = "admin/accounts/apitoken/created.html"
    revoke_template = "admin/accounts/apitoken/revoke.html"

    @admin.display(description="Name", ordering="name")
    def name_or_kind(self, token: ApiToken) -> str:
        return token.name or f"({token.kind} token)"

    def has_delete_permission(self, request, obj=None):
        return _is_superuser(request) and super().has_delete_permission(request, obj)

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

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        """First a page that names the tokens and asks (as "Delete selected" does), then,
        posted from that page with ``confirmed``, the revocation."""
        if not request.POST.get("confirmed"):
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Revoke these tokens?",
                "tokens": queryset.select_related("organization"),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, self.revoke_template, context)
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


class MembershipOfUserInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    fields = ["organization", "created_at"]
    readonly_fields = ["created_at"]
    extra = 0
    verbose_name = "organization membership"
    verbose_name_plural = "organizations (a staff user sees only these in the dashboard)"


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class GheeUserAdmin(UserAdmin):
    """Django's user admin, plus the organizations each user works in (superusers only)."""

    inlines = [MembershipOfUserInline]
    list_display = ["username", "email", "full_name", "is_staff", "is_superuser", "organizations"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("memberships__organization")

    @admin.display(description="Name")
    def full_name(self, user) -> str:
        return user.get_full_name()

    @admin.display(description="Organizations")
    def organizations(self, user) -> str:
        if user.is_superuser:
            return "all (superuser)"
        return ", ".join(m.organization.slug for m in user.memberships.all()) or "none"
