"""Evaluation of the investor assistant: question sets, metrics, runs, reports, comparisons
and the CMRC 2018 benchmark. ``python -m eval --help`` lists the commands; eval/README.md
defines every metric."""
