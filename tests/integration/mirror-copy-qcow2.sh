# qcow2 images on both sides: see mirror-copy.sh.
FMT=qcow2 exec bash "$(dirname "$0")/mirror-copy.sh"
