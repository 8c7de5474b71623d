"""The dashboard's webhooks pages: endpoints, their delivery log with attempts, re-sends.

Every change goes through ``services`` (the CLI's functions): creating an endpoint or
rotating its secret shows the secret on one page, once; "Send test event" and "Re-send"
queue deliveries that a worker sends. Querysets are filtered in ``get_queryset`` on the
rows' own ``organization`` so an organization-scoping mixin can narrow them.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ghee.accounts.admin_scoping import OrganizationScopedAdmin, OrganizationScopedInline
from ghee.webhooks import services
from ghee.webhooks.forms import EndpointForm
from ghee.webhooks.models import Attempt, Delivery, Endpoint


def _editor(request) -> str:
    return request.user.get_full_name() or request.user.get_username()


@admin.register(Endpoint)
class EndpointAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    form = EndpointForm
    list_display = ["id", "url", "organization", "event_list", "is_active", "created_at"]
    list_display_links = ["id", "url"]
    list_filter = ["is_active", "organization"]
    search_fields = ["url", "description"]
    readonly_fields = ["signing_secret", "disabled_reason", "failing_since", "deliveries_link"]
    actions = ["send_test_events"]
    shown_once_template = "admin/webhooks/endpoint/secret.html"
    rotate_template = "admin/webhooks/endpoint/rotate.html"
    change_form_template = "admin/webhooks/endpoint/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")

    def get_fields(self, request, obj=None):
        fields = ["organization", "url", "description", "events", "header_lines", "is_active"]
        if obj is None:
            return fields
        return [*fields, "signing_secret", "disabled_reason", "failing_since", "deliveries_link"]

    def get_readonly_fields(self, request, obj=None):
        return ["organization", *self.readonly_fields] if obj else []

    @admin.display(description="events")
    def event_list(self, obj: Endpoint) -> str:
        return ", ".join(obj.events)

    @admin.display(description="signing secret")
    def signing_secret(self, obj: Endpoint) -> str:
        if obj.previous_secret_encrypted and obj.previous_secret_expires_at:
            return (
                "Set (shown only when created or rotated). The previous secret also signs "
                f"until {obj.previous_secret_expires_at:%Y-%m-%d %H:%M} UTC."
            )
        return "Set (shown only when created or rotated)."

    @admin.display(description="deliveries")
    def deliveries_link(self, obj: Endpoint) -> str:
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        return format_html('<a href="{}">Delivery log</a>', url)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            # The form already set its values on `obj`; the service compares with the row.
            services.update_endpoint(
                Endpoint.objects.get(pk=obj.pk),
                url=data["url"],
                events=data["events"],
                headers=data["header_lines"],
                description=data["description"],
                is_active=data["is_active"],
            )
            return
        endpoint, secret = services.create_endpoint(
            data["organization"],
            data["url"],
            data["events"],
            headers=data["header_lines"],
            description=data["description"],
        )
        if not data["is_active"]:
            services.update_endpoint(endpoint, is_active=False)
        # The admin carries on with `obj` (history entry, redirect): make it the saved row.
        obj.pk, obj._state.adding, obj._state.db = endpoint.pk, False, endpoint._state.db
        obj.clear_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(obj, "clear_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self._secret_page(request, obj, secret, "Webhook endpoint created")

    def _secret_page(self, request, endpoint: Endpoint, secret: str, title: str):
        endpoint.refresh_from_db()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "endpoint": endpoint,
            "secret": secret,
        }
        return TemplateResponse(request, self.shown_once_template, context)

    # --- Buttons on an endpoint's page (POST only) ------------------------------------------

    def get_urls(self):
        own = [
            path(
                "<int:pk>/rotate/",
                self.admin_site.admin_view(self.rotate_view),
                name="webhooks_endpoint_rotate",
            ),
            path(
                "<int:pk>/test/",
                self.admin_site.admin_view(self.test_view),
                name="webhooks_endpoint_test",
            ),
        ]
        return own + super().get_urls()

    def _endpoint_for_change(self, request, pk: int) -> Endpoint:
        if request.method != "POST":
            raise _NotPost()
        endpoint = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        return endpoint

    def rotate_view(self, request, pk: int):
        """GET asks "rotate?" on a page of its own (no JavaScript needed); POST rotates."""
        endpoint = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Rotate the signing secret",
                "endpoint": endpoint,
                "grace_hours": settings.GHEE_WEBHOOK_ROTATION_GRACE_HOURS,
            }
            return TemplateResponse(request, self.rotate_template, context)
        secret = services.rotate_secret(endpoint)
        return self._secret_page(request, endpoint, secret, "Signing secret rotated")

    def test_view(self, request, pk: int):
        try:
            endpoint = self._endpoint_for_change(request, pk)
        except _NotPost:
            return HttpResponseNotAllowed(["POST"])
        delivery = services.send_test_event(endpoint, editor=_editor(request))
        self.message_user(
            request,
            f"Queued test delivery {delivery.pk}; a worker sends it within moments.",
            messages.SUCCESS,
        )
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={pk}"
        return HttpResponseRedirect(url)

    @admin.action(description="Send a test event to the selected endpoints")
    def send_test_events(self, request, queryset):
        for endpoint in queryset:
            services.send_test_event(endpoint, editor=_editor(request))
        self.message_user(
            request, f"Queued {queryset.count()} test delivery(ies).", messages.SUCCESS
        )


class _NotPost(Exception):
    pass


class AttemptInline(OrganizationScopedInline, admin.TabularInline):
    model = Attempt
    fields = [
        "number",
        "attempted_at",
        "status_code",
        "latency_ms",
        "error",
        "response_excerpt",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(OrganizationScopedAdmin, admin.ModelAdmin):
    list_display = [
        "id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_answer",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event", "organization", "endpoint"]
    search_fields = ["message_id"]
    list_select_related = ["endpoint"]
    inlines = [AttemptInline]
    actions = ["resend"]
    fields = [
        "event",
        "endpoint",
        "organization",
        "status",
        "attempts",
        "message_id",
        "created_at",
        "next_attempt_at",
        "finished_at",
        "last_status_code",
        "last_error",
        "resent_from",
        "body",
    ]
    readonly_fields = fields
    change_form_template = "admin/webhooks/delivery/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("endpoint", "organization")

    def has_add_permission(self, request):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: no save buttons (the delete link stays for who may).
        read_only = {"show_save": False, "show_save_and_continue": False}
        return super().change_view(
            request, object_id, form_url, {**read_only, **(extra_context or {})}
        )

    @admin.display(description="last answer")
    def last_answer(self, obj: Delivery) -> str:
        """ "HTTP 500", the error, or both, in one column (the list must fit the page)."""
        status = f"HTTP {obj.last_status_code}" if obj.last_status_code else ""
        return ": ".join(part for part in (status, obj.last_error[:80]) if part) or "-"

    def get_urls(self):
        own = [
            path(
                "<int:pk>/resend/",
                self.admin_site.admin_view(self.resend_view),
                name="webhooks_delivery_resend",
            )
        ]
        return own + super().get_urls()

    def resend_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        delivery = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, delivery):
            raise PermissionDenied
        self._resend(request, [delivery])
        return HttpResponseRedirect(reverse("admin:webhooks_delivery_changelist"))

    @admin.action(description="Re-send the selected deliveries (same body and webhook-id)")
    def resend(self, request, queryset):
        self._resend(request, list(queryset))

    def _resend(self, request, deliveries: list[Delivery]) -> None:
        queued, refused = [], []
        for delivery in deliveries:
            try:
                queued.append(services.resend_delivery(delivery).pk)
            except ValidationError as exc:
                refused.append(" ".join(exc.messages))
        if queued:
            self.message_user(
                request,
                f"Queued {len(queued)} delivery(ies) again: {', '.join(map(str, queued))}.",
                messages.SUCCESS,
            )
        for message in refused:
            self.message_user(request, message, messages.ERROR)
