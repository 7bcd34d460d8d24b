from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.incident_list, name="list"),
    path("incidents/declare/", views.incident_declare, name="declare"),
    path("incidents/<int:pk>/", views.incident_detail, name="detail"),
    path("incidents/<int:pk>/timeline/", views.incident_timeline, name="timeline"),
    path("incidents/<int:pk>/acknowledge/", views.incident_acknowledge, name="acknowledge"),
    path("incidents/<int:pk>/resolve/", views.incident_resolve, name="resolve"),
    path("incidents/<int:pk>/escalate/", views.incident_escalate, name="escalate"),
    path("incidents/<int:pk>/reassign/", views.incident_reassign, name="reassign"),
    path("incidents/<int:pk>/severity/", views.incident_severity, name="severity"),
    path("incidents/<int:pk>/roles/", views.incident_role_assign, name="role-assign"),
    path("incidents/<int:pk>/roles/release/", views.incident_role_release, name="role-release"),
    path("incidents/<int:pk>/responders/", views.incident_responders_add, name="responders-add"),
    path("incidents/<int:pk>/merge/", views.incident_merge, name="merge"),
    path("incidents/<int:pk>/notes/", views.incident_note, name="note"),
    path("incidents/<int:pk>/updates/", views.incident_update_post, name="update-post"),
    path("plan/", views.plan, name="plan"),
    path("l/<str:token>/", views.action_link, name="action-link"),
]
