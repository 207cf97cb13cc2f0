"""Admin's application-setting form says what is wrong once, even when the form itself already refused the key or
the value (the model's parse then saw "" or None and refused it again)."""

import pytest

from core.models import AppSetting


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "once", "never"),
    [
        ({"key": "OTP_TTL_SECONDS", "value": ""}, "This field is required.", "not None"),
        ({"key": "NOPE", "value": "1"}, "Select a valid choice. NOPE is not one of the available choices.", "Unknown"),
    ],
)
def test_a_value_or_key_the_form_refused_is_said_once(admin_client, form, once, never):
    response = admin_client.post("/admin/core/appsetting/add/", {**form, "store": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count(once) == 1
    assert never not in html
    assert not AppSetting.objects.exists()
