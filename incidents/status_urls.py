from django.urls import path

from incidents import status_views
from incidents.status_json import KINDS

app_name = "status"

urlpatterns = [
    path("", status_views.status_page, name="page"),
    path("history/", status_views.history, name="history"),
    path("incidents/<slug:public_id>", status_views.incident_permalink, name="incident"),
    path("theme.css", status_views.theme_css, name="theme"),
    path("logo", status_views.logo, name="logo"),
    path("history.atom", status_views.feed("atom"), name="history-atom"),
    path("history.rss", status_views.feed("rss"), name="history-rss"),
    path("subscribe/", status_views.subscribe, name="subscribe"),
    path("subscribe/confirm/<slug:token>/", status_views.confirm, name="confirm"),
    path("unsubscribe/<slug:token>/", status_views.unsubscribe, name="unsubscribe"),
    # Signed in: the Communications Lead publishes from the internal incident.
    path("manage/", status_views.manage, name="manage"),
    path("manage/maintenance/new/", status_views.maintenance_new, name="manage-maintenance-new"),
    path("manage/maintenance/<slug:public_id>/", status_views.maintenance_move, name="manage-maintenance"),
    path("manage/incidents/<int:incident_pk>/publish/", status_views.publish, name="manage-publish"),
    path("manage/public/<slug:public_id>/", status_views.publish_update, name="manage-update"),
    *(path(f"api/v2/{kind}.json", status_views.json_endpoint(kind), name=f"api-{kind}") for kind in KINDS),
]
