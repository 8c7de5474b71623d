"""The dashboard's endpoint form: events as checkboxes, headers as "Name: value" lines."""

from django import forms
from django.core.exceptions import ValidationError

from ghee.webhooks import services
from ghee.webhooks.choices import EventType
from ghee.webhooks.models import Endpoint


class EndpointForm(forms.ModelForm):
    url = forms.CharField(
        label="URL", max_length=2000, help_text="http or https; checked on every delivery."
    )
    events = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="collectionitem.all includes every other event, and any added later.",
    )
    header_lines = forms.CharField(
        label="Custom headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text='One "Name: value" per line, sent with every delivery (e.g. to authenticate '
        "ghee to a receiver that cannot check signatures).",
    )

    class Meta:
        model = Endpoint
        fields = ["organization", "url", "description", "events", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["header_lines"].initial = "\n".join(
                f"{name}: {value}" for name, value in self.instance.headers.items()
            )

    def clean_url(self):
        return self._service_clean("url", services.clean_url, self.cleaned_data["url"])

    def clean_events(self):
        return self._service_clean("events", services.clean_events, self.cleaned_data["events"])

    def clean_header_lines(self):
        headers = {}
        for line in self.cleaned_data["header_lines"].splitlines():
            if line.strip():
                name, value = self._service_clean("header_lines", services.parse_header, line)
                headers[name] = value
        return self._service_clean("header_lines", services.clean_headers, headers)

    @staticmethod
    def _service_clean(field: str, cleaner, value):
        try:
            return cleaner(value)
        except ValidationError as exc:
            messages = exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages]
            raise ValidationError([m for group in messages for m in group]) from None
