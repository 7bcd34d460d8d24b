from django.apps import AppConfig


class YardstickConfig(AppConfig):
    name = "bench.yardstick"
    label = "yardstick"
    verbose_name = "Benchmark yardstick"
