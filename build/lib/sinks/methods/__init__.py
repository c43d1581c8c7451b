"""The carbon methods, one package each: ``maps`` (one stage function per rule), ``rows`` (its
zone-table rows), ``checks`` (its checks before compute) and its rates or classes. The list of
methods, and what the summary and ``sinks validate`` loop over, is :mod:`sinks.methods.registry`."""
