from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from incidents.notifications import incident_message
        from incidents.receivers import record_delivery_attempt
        from incidents.services.escalation import escalation_tick
        from irp_site import engine
        from oncall.deliveries import delivery_attempted, register_renderer

        register_renderer("incident", incident_message)
        delivery_attempted.connect(record_delivery_attempt, dispatch_uid="incidents_delivery_timeline")
        # Steps hand their first deliveries to the workers themselves, on commit; the oncall app's
        # dispatcher only picks up later ones (rules with a delay, retries, re-drives).
        engine.register("escalation", escalation_tick)
