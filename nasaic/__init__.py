"""NASAIC co-search: networks x heterogeneous chips under latency / energy / area specs.

``nasaic.space`` (NAS-Bench-201 and the Accel-NASBench MnasNet space as hwsim networks) and
``nasaic.oracle`` (tabular, callable and surrogate accuracy oracles) are its foundations.
"""
