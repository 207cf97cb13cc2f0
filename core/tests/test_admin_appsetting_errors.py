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


@pytest.mark.django_db
def test_a_setting_this_version_no_longer_has_is_listed_shown_and_deleted_not_a_500(admin_client):
    """A row an earlier release wrote for a setting since removed: the list and its page answer (the list read its
    default from the settings this version has, the form its value's format), and it can be deleted, not set."""
    retired = AppSetting.objects.create(key="RETIRED_SETTING", value={"a": 1})
    AppSetting.objects.create(key="CODE_CHANNELS", value=["sms", "email"])
    listing = admin_client.get("/admin/core/appsetting/stored/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "RETIRED_SETTING" in html and '{"a": 1}' in html.replace("&quot;", '"')
    assert '<td class="field-value_text">sms,email</td>' in html  # as the form takes it and the default shows it

    page = admin_client.get(f"/admin/core/appsetting/{retired.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"/admin/core/appsetting/{retired.pk}/change/", {"value": "2"}).status_code == 403
    assert AppSetting.objects.get(pk=retired.pk).value == {"a": 1}

    deleted = admin_client.post(f"/admin/core/appsetting/{retired.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not AppSetting.objects.filter(pk=retired.pk).exists()


@pytest.mark.django_db
def test_deleting_selected_settings_puts_the_default_back_at_once(admin_client):
    """As deleting one row on its page does: the delete announces itself (``settings_changed``)."""
    from core.appsettings import get_setting
    from core.services import app_setting_set

    setting = app_setting_set(key="OTP_TTL_SECONDS", value="900")
    assert get_setting("OTP_TTL_SECONDS") == 900
    response = admin_client.post(
        "/admin/core/appsetting/stored/", {"action": "delete_selected", "_selected_action": [setting.pk], "post": "yes"}
    )
    assert response.status_code == 302 and not AppSetting.objects.exists()
    assert get_setting("OTP_TTL_SECONDS") == 600
