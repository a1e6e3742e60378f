# SIGKILL of the engine (active): see kill-engine.bash.
. "$FAULTS/kill-engine.bash"
cell() { kill_engine active; }
