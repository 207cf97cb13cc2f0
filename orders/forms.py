"""Input of the staff pages. The forms only clean what the browser sends; every rule is in orders.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import CollectedBy, PackageStatus

# The list's filters "Needs action" and "Expires today": not statuses, but chosen like one.
from orders.selectors import ALL_COUNT, EXPIRES_TODAY, NEEDS_ACTION


class PackageFilterForm(forms.Form):
    """The package list's query string: store switcher, status filter, search box and page."""

    store = forms.CharField(required=False, max_length=16)
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", _("All")),
            (NEEDS_ACTION, _("Needs action")),
            (ALL_COUNT, _("All")),
            *PackageStatus.choices,
            (EXPIRES_TODAY, _("Expires today")),
        ],
    )
    q = forms.CharField(
        required=False,
        max_length=100,
        label=_("Search"),
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Order number, customer name or phone"),
                "autocomplete": "off",
                "spellcheck": "false",
                "enterkeyhint": "search",
            }
        ),
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10**6)

    def value(self, name: str):
        """The cleaned value, or the empty value when the browser sent something unusable."""
        if not self.is_bound:
            return None
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None


class DeliverForm(forms.Form):
    """The "Verify pickup code" dialog. The code's format (six ASCII digits) is checked by the service,
    so a malformed entry is refused there without counting as an attempt."""

    otp = forms.CharField(
        required=False,
        max_length=64,
        label=_("Verification code"),
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "maxlength": "6",
                "minlength": "6",
                "autofocus": True,
                "enterkeyhint": "done",
                "class": "code-input",
            }
        ),
    )
    manual = forms.BooleanField(required=False, label=_("Customer showed the code on their phone"))
    # Who collects (SPEC 13), asked when the order names a pickup person; the service checks it.
    collected_by = forms.ChoiceField(required=False, choices=CollectedBy.choices)


class CancelForm(forms.Form):
    reason = forms.CharField(
        required=False,  # the service refuses an empty reason with its own message
        max_length=255,
        label=_("Reason for cancelling"),
        widget=forms.Textarea(attrs={"rows": 3, "autofocus": True, "maxlength": "255"}),
    )


class CommandForm(forms.Form):
    command = forms.CharField(max_length=64)
    reason = forms.CharField(required=False, max_length=255)
