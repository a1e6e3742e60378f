# SIGKILL of the engine (setup): see kill-engine.bash.
. "$FAULTS/kill-engine.bash"
cell() { kill_engine setup; }
