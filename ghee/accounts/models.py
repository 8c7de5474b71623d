"""Organizations own content; locales shape their field data; API tokens authenticate;
memberships say which organizations a dashboard user works in."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from ghee.accounts.choices import TokenKind

locale_code_validator = RegexValidator(
    r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$",
    "A locale code is lowercase letters with optional hyphenated parts, e.g. en, pt-br.",
)


class Organization(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def has_locales(self) -> bool:
        return self.locales.exists()


class Locale(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="locales")
    code = models.CharField(max_length=32, validators=[locale_code_validator])
    name = models.CharField(max_length=100, blank=True)
    order = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["organization", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="locale_code_unique"),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True),
                name="one_default_locale",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ApiToken(models.Model):
    """A read or write token. Only the SHA-256 of the token is stored.

    A token is ``<prefix><secret>`` in hex; the first ``PREFIX_LENGTH`` characters are kept in
    clear to find the row, the whole token is compared by digest.
    """

    PREFIX_LENGTH = 12

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=8, choices=TokenKind.choices)
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "created_at"]

    def __str__(self) -> str:
        return f"{self.name or self.kind} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.kind == TokenKind.WRITE


class Membership(models.Model):
    """A dashboard user works in an organization: sees and edits its rows, and only its.

    Superusers need none (they see every organization). A staff user without any
    membership sees nothing in the dashboard (docs/dashboard.md).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"
