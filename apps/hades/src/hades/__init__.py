"""hades: behaviour distillation (HaDES) in JAX — the orchestrator and the `hades` command."""

__version__ = "0.1.0"
