from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from incidents.api import (
    AlertViewSet,
    ChangeEventViewSet,
    IncidentViewSet,
    IntegrationViewSet,
    MaintenanceWindowViewSet,
    ResponsePlanView,
    RoleViewSet,
    RoutingRuleViewSet,
    ServiceViewSet,
    SeverityLevelViewSet,
    SilenceViewSet,
)
from incidents.comms_api import register as register_comms_api
from incidents.status_api import register as register_status_api
from irp_site import views
from oncall.api import (
    ContactMethodViewSet,
    EscalationPolicyViewSet,
    EscalationStepViewSet,
    LayerViewSet,
    NotificationRuleViewSet,
    OnCallView,
    OverrideViewSet,
    PagingWarningViewSet,
    ScheduleIcsImportView,
    ScheduleViewSet,
    ShiftSwapViewSet,
    TeamViewSet,
)

router = DefaultRouter()
router.register("teams", TeamViewSet)
router.register("services", ServiceViewSet)
router.register("severity-levels", SeverityLevelViewSet)
router.register("roles", RoleViewSet)
router.register("integrations", IntegrationViewSet)
router.register("routing-rules", RoutingRuleViewSet)
router.register("maintenance-windows", MaintenanceWindowViewSet)
router.register("silences", SilenceViewSet)
router.register("incidents", IncidentViewSet)
router.register("alerts", AlertViewSet)
router.register("change-events", ChangeEventViewSet)
router.register("schedules", ScheduleViewSet)
router.register("layers", LayerViewSet)
router.register("overrides", OverrideViewSet)
router.register("shift-swaps", ShiftSwapViewSet)
router.register("escalation-policies", EscalationPolicyViewSet)
router.register("escalation-steps", EscalationStepViewSet)
router.register("contact-methods", ContactMethodViewSet)
router.register("notification-rules", NotificationRuleViewSet)
router.register("paging-warnings", PagingWarningViewSet, basename="paging-warning")
register_comms_api(router)
register_status_api(router)

urlpatterns = [
    # First: the public status page takes the refresh storms, and every pattern tried before it costs.
    path("status/", include("incidents.status_urls")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/plan/", ResponsePlanView.as_view(), name="api-plan"),
    path("api/v1/oncall/", OnCallView.as_view(), name="api-oncall"),
    path("api/v1/schedules/<int:pk>/import-ics/", ScheduleIcsImportView.as_view(), name="api-schedule-import-ics"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("incidents.ingest_urls")),
    path("", include("incidents.urls")),
    path("oncall/", include("oncall.urls")),
    path("postmortems/", include("postmortems.urls")),
]
