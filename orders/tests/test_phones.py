"""Phone numbers (``orders.phones``): a number that cannot receive the pickup code by SMS is refused."""

import pytest

from orders.tests.apiclient import _fresh_throttles  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db


def test_a_landline_is_refused_by_the_service_as_well():
    from core.errors import ApplicationError
    from orders import services

    with pytest.raises(ApplicationError) as refused:
        services.phone_normalize("0212 123 45 67")
    assert refused.value.code == "validation_error"
    assert "fields" in refused.value.details
