# SIGKILL of the engine (preswitch): see kill-engine.bash.
. "$FAULTS/kill-engine.bash"
cell() { kill_engine preswitch; }
