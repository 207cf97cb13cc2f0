"""The REST API under /api/ (SPEC 9). Filled in by the API work (issue #4)."""

urlpatterns: list = []
