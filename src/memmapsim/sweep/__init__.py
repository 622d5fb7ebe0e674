"""Parameter sweeps: a grid of machines, kernels and cost profiles built from one scenario,
run on a local process pool or a Dask cluster, with every result streamed to a Parquet
file keyed by a hash of its configuration, so a sweep that was stopped resumes where it
was (``memmapsim sweep``; README "Sweeps").

- :mod:`.spec`: the SPEC file (base scenario, axes) and its grid of points;
- :mod:`.shape`: a point's machine, derived from the base scenario;
- :mod:`.run`: one point's run and its row; the local and Dask executors;
- :mod:`.store`: the journal and the Parquet file that make a sweep resumable.
"""
