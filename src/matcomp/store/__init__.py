"""Results on disk and what they record about how they were made: the plumbing under every job.

- :mod:`.paths`: where every result, table, figure and log lives;
- :mod:`.io`: atomic writes and the one-maker locks;
- :mod:`.results`: the result files (write, read, check a damaged one);
- :mod:`.provenance`: versions, host, device and seconds of a run;
- :mod:`.codehash`: what "the code" of each kind of job is, and its hash (part of every result's name);
- :mod:`.checkout`: that the package runs from the checkout the workflow plans with.
"""
