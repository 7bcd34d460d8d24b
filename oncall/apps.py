from datetime import timedelta

from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "On-call"

    def ready(self) -> None:
        from irp_site import auditor, engine
        from oncall.deliveries import dispatch_due, oldest_due_delivery, register_renderer
        from oncall.handoffs import Every, handoff_message, handoff_notices_plan, handoff_notices_send

        engine.register("handoff_notices", Every(timedelta(minutes=1), handoff_notices_plan))
        engine.register("handoff_notices_send", handoff_notices_send)
        register_renderer("handoff", handoff_message)
        engine.register("deliveries", dispatch_due)
        auditor.register_probe("deliveries", oldest_due_delivery)
