"""The dashboard's endpoint form: events as checkboxes, headers as "Name: value" lines.

Header values are write-only: an endpoint's page shows each stored header as
``Name: ********`` (values are often a receiver's credentials, and are kept encrypted).
A line left masked keeps its stored value, a new value replaces it, a removed line removes
the header.
"""

from django import forms
from django.core.exceptions import ValidationError

from ghee.webhooks import services
from ghee.webhooks.choices import event_choices
from ghee.webhooks.models import Endpoint
from ghee.webhooks.signing_secrets import SecretUnreadable

MASK = "********"


class EndpointForm(forms.ModelForm):
    url = forms.CharField(
        label="URL", max_length=2000, help_text="http or https; checked on every delivery."
    )
    events = forms.MultipleChoiceField(
        choices=event_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="An “all” event includes every other event of its kind, and any added later.",
    )
    header_lines = forms.CharField(
        label="Custom headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text='One "Name: value" per line, sent with every delivery (e.g. to authenticate '
        f"ghee to a receiver that cannot check signatures); at most {services.MAX_HEADERS}, "
        f"each value at most {services.MAX_HEADER_VALUE_BYTES} bytes. Values are kept "
        f"encrypted and never shown again: a stored one reads {MASK}; leave it to keep it, "
        "or type a new value to replace it.",
    )

    class Meta:
        model = Endpoint
        fields = ["organization", "url", "description", "events", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_headers = {}
        if self.instance.pk:
            try:
                self.stored_headers = self.instance.headers
            except SecretUnreadable as exc:
                # The page still opens, says why, and new values replace the lost ones.
                field = self.fields["header_lines"]
                field.help_text = f"The stored values are lost: {exc}. {field.help_text}"
            self.fields["header_lines"].initial = "\n".join(
                f"{name}: {MASK}" for name in self.stored_headers
            )

    def clean_url(self):
        return self._service_clean("url", services.clean_url, self.cleaned_data["url"])

    def clean_events(self):
        return self._service_clean("events", services.clean_events, self.cleaned_data["events"])

    def clean_header_lines(self):
        stored = self.stored_headers
        headers = {}
        lines = [line for line in self.cleaned_data["header_lines"].splitlines() if line.strip()]
        if len(lines) > services.MAX_HEADERS:
            raise ValidationError(
                f"{len(lines)} header lines; an endpoint may have at most {services.MAX_HEADERS}"
            )
        for line in lines:
            name, value = self._service_clean("header_lines", services.parse_header, line)
            if value == MASK:
                if name not in stored:
                    raise ValidationError(f"{name} has no stored value to keep: type its value")
                value = stored[name]
            headers[name] = value
        return self._service_clean("header_lines", services.clean_headers, headers)

    @staticmethod
    def _service_clean(field: str, cleaner, value):
        try:
            return cleaner(value)
        except ValidationError as exc:
            messages = exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages]
            raise ValidationError([m for group in messages for m in group]) from None
