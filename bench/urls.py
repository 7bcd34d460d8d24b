"""IRP's own URLs plus the yardstick's, served by one gunicorn so both pay the same middleware."""

from django.urls import include, path

urlpatterns = [
    path("", include("bench.yardstick.urls")),
    path("", include("irp_site.urls")),
]
