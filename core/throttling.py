from rest_framework import throttling


class UserRateThrottle(throttling.UserRateThrottle):
    """Request rate per user through the shared cache (Redis in production).

    When the cache is unreachable the request is let through: the limits that protect codes live
    in the database, so a cache outage must not turn into 500s at the counter.
    """

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - cache down: degrade open, never 500
            return True


class AnonRateThrottle(throttling.AnonRateThrottle):
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001
            return True
