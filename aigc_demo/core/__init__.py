"""The bottom layer: request and result types, errors, parameter specs, bilingual text and
output-file helpers. Standard library only; every other layer may import it."""
