"""The yearly assessment of departments (综合考核): a scheme of weighted indicators
(scheme.py), each department's score per quarter and year with the breakdown behind every
point (compute.py), publishing that freezes a quarter (publishing.py), and the accountability
list of the appeals behind every lost point (accountability.py). docs/leads-and-assessment.md
says how each is computed."""
