"""ponzoni_eval: mixed-methods evaluation of three collaboration case studies.

The package turns evaluators' raw survey waves, activity logs and coded
interviews into validated tidy tables, statistical results in one standard
shape, and papermill-executed reports. See README.md.
"""

__version__ = "0.1.0"
