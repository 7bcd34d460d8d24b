from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.incident_list, name="list"),
    path("incidents/<int:pk>/", views.incident_detail, name="detail"),
    path("plan/", views.plan, name="plan"),
    path("l/<str:token>/", views.action_link, name="action-link"),
]
