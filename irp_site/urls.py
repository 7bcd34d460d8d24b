from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from incidents.api import ResponsePlanView, RoleViewSet, ServiceViewSet, SeverityLevelViewSet
from irp_site import views
from oncall.api import TeamViewSet

router = DefaultRouter()
router.register("teams", TeamViewSet)
router.register("services", ServiceViewSet)
router.register("severity-levels", SeverityLevelViewSet)
router.register("roles", RoleViewSet)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/plan/", ResponsePlanView.as_view(), name="api-plan"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("incidents.urls")),
    path("oncall/", include("oncall.urls")),
    path("postmortems/", include("postmortems.urls")),
    path("status/", include("incidents.status_urls")),
]
