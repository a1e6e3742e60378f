# SIGKILL of the engine (postcopy): see kill-engine.bash.
. "$FAULTS/kill-engine.bash"
cell() { kill_engine postcopy; }
