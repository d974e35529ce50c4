"""The command lines: argument parsing and calls into the library. `train.py`, `evaluate.py` and `export.py`
at the top of the repository (and the gan3d-train, gan3d-evaluate, gan3d-export console scripts) run these."""
