"""opsbot's test rig: what the tests and the benchmarks (`bench/`) both run the bot against.

* `rig.fakediscord`: a fake Discord (REST + gateway) that the real discord.py connects to;
* `rig.botharness`: the real bot started in process (`opsbot run`'s own start-up path);
* `rig.received`: the alerts the bot posted to the fake Discord, as a test reads them;
* `rig.simhttp`, `rig.threadsim`: clients for the useapi simulator, and one served from a thread;
* `rig.store`: the database backends the store tests run on, and rows to put in them;
* `rig.watch`: a scripted provider and a clock for the watcher's tests;
* `rig.process`: helpers for tests that run `python -m bot` as a process;
* `rig.soak`: the chaos soak (run, chaos, analysis).

Nothing here imports pytest: `opsbot bench` runs from an install with the `bench` extra only.
The pytest fixtures are thin wrappers in `tests/fixtures/`.
"""
