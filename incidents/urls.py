from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.incident_list, name="list"),
    path("incidents/<int:pk>/", views.incident_detail, name="detail"),
    path("incidents/<int:pk>/acknowledge/", views.incident_acknowledge, name="acknowledge"),
    path("incidents/<int:pk>/resolve/", views.incident_resolve, name="resolve"),
    path("incidents/<int:pk>/escalate/", views.incident_escalate, name="escalate"),
    path("incidents/<int:pk>/reassign/", views.incident_reassign, name="reassign"),
    path("plan/", views.plan, name="plan"),
    path("l/<str:token>/", views.action_link, name="action-link"),
]
