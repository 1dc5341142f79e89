"""``fdpose demo``: the whole mission on the synthetic world, end to end, with one summary.

:mod:`fdpose.demo.plan` (what runs, default vs quick), :mod:`fdpose.demo.steps` (the seven
steps), :mod:`fdpose.demo.run` (timing, resume, state), :mod:`fdpose.demo.result` (the record),
:mod:`fdpose.demo.report` (table and
markdown report). Sits on top of every stage, like the CLI.
"""
