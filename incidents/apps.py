from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from incidents import comms_setup, status_setup
        from incidents.notifications import incident_message
        from incidents.receivers import record_delivery_attempts
        from incidents.services.escalation import escalation_tick, oldest_due_run, oldest_pending_page
        from irp_site import auditor, engine
        from oncall.deliveries import deliveries_attempted, register_renderer

        register_renderer("incident", incident_message)
        deliveries_attempted.connect(record_delivery_attempts, dispatch_uid="incidents_delivery_timeline")
        # Steps hand their first deliveries to the workers themselves, on commit; the oncall app's
        # dispatcher only picks up later ones (rules with a delay, retries, re-drives).
        engine.register("escalation", escalation_tick)
        auditor.register_probe("escalation steps", oldest_due_run)
        auditor.register_probe("incidents waiting to page", oldest_pending_page)
        comms_setup.connect()
        status_setup.connect()
