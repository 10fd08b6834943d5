"""Running a compiled program: the three-valued runtime, the plain evaluator, and the one module that touches durable_rules."""
