from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class IRPAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "irp_site.admin_site.IRPAdminSite"


class IRPSiteConfig(AppConfig):
    default = True
    name = "irp_site"
    verbose_name = "IRP"

    def ready(self) -> None:
        from irp_site import auditor, engine, groups, heartbeats

        groups.connect_signals()
        heartbeats.connect_worker_heartbeat()
        engine.register("audit", auditor.audit_tick)
