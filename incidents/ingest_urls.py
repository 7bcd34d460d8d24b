from django.urls import path

from incidents import ingest_views

app_name = "ingest"

urlpatterns = [
    path("v2/enqueue", ingest_views.pagerduty_enqueue, name="pagerduty-enqueue"),
    path("v2/change/enqueue", ingest_views.pagerduty_change_enqueue, name="pagerduty-change-enqueue"),
    path("integrations/<str:key>/alerts", ingest_views.webhook, name="webhook"),
]
