from django.urls import path

from oncall import views

app_name = "oncall"

urlpatterns = [
    path("", views.oncall_now, name="now"),
    path("mine/", views.my_shifts, name="mine"),
    path("mine/rotate-calendar-link/", views.rotate_my_calendar, name="rotate-my-calendar"),
    path("schedules/<int:pk>/", views.schedule_detail, name="schedule"),
    path("calendars/schedule/<str:secret>.ics", views.schedule_calendar, name="schedule-ics"),
    path("calendars/person/<str:secret>.ics", views.person_calendar, name="person-ics"),
]
