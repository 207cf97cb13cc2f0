"""Django admin as a whole (``orders.admin``): every project model is listed."""

import pytest
from django.apps import apps
from django.contrib import admin


@pytest.mark.django_db
def test_every_project_model_is_in_admin():
    ours = [m for m in apps.get_models() if m._meta.app_label in {"core", "orders", "otp", "notifications"}]
    missing = [m._meta.label for m in ours if m not in admin.site._registry and m._meta.model_name != "webhookattempt"]
    assert missing == []
