# SPDX-License-Identifier: LGPL-2.1-or-later
# qmig: plain GNU make. `make`, `make check`, `make demo`, `make install`.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share/qmig
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=
# The one version: QMIG_VERSION in include/qmig.h (qmig --version, the
# report, the agent's hello); qmig.pc takes it from there.
VERSION := $(shell sed -n 's/^\#define QMIG_VERSION "\(.*\)"$$/\1/p' include/qmig.h)

CC ?= cc
PKGS := jansson libnbd libssl libcrypto liburing
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libnbd is compiled against but not linked: storage/nbdlib.c loads it on
# first use (its GnuTLS/libxml2/ICU dependencies cost every process ~22 ms
# of dynamic linking otherwise).
LINK_PKGS := $(filter-out libnbd,$(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null || echo -ljansson -lssl -lcrypto -luring)

WARN := -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Werror
# Messages are truncated into fixed buffers on purpose; gcc warns, clang lacks the flag.
WARN += $(shell $(CC) -Werror -Wno-format-truncation -x c -c -o /dev/null /dev/null 2>/dev/null && echo -Wno-format-truncation)
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -fPIC -fvisibility=hidden -MMD -MP -D_GNU_SOURCE -Iinclude -I. $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) -lpthread -lm
ifeq ($(SANITIZE),1)
# Sanitized objects live apart so they never mix with a plain build.
BUILD := build-sanitize
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

BUILD ?= build
# bench/ is libqmig's bench module (qmig bench); tools/bench/ holds the
# standalone measurements around it (a program and shell harnesses).
# agent/skew.c is test-only (TESTHOOK_SRCS below), never in the library.
LIB_SRCS := $(filter-out agent/skew.c,$(wildcard common/*.c qmp/*.c engine/*.c lab/*.c \
  storage/*.c transport/*.c agent/*.c bench/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

GUEST := $(BUILD)/guest/qmig-guest.elf
GUEST_CFLAGS := -m32 -ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -O2 -std=gnu11 $(WARN) -I.
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none -T guest/guest.ld

.PHONY: man all check check-unit check-faults check-faults-fast demo deps install uninstall clean bench-native bench-tunnel bench-storage bench-transports bench-dirty-rate bench-update fuzz fuzz-build fuzz-ci soak bench-fwd
all: $(BUILD)/libqmig.a $(BUILD)/libqmig.so $(BUILD)/qmig $(GUEST) $(BUILD)/tests/tunnel_client \
  $(BUILD)/tests/qmig-testhooks man

$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Where the installed lab guest lives is compiled into lab/qemu.o alone; the
# stamp changes when DATADIR does, so `make install PREFIX=/usr` after a
# plain `make` rebuilds that object instead of keeping /usr/local.
DATADIR_STAMP := $(BUILD)/datadir.stamp
$(shell mkdir -p $(BUILD) && (echo '$(DATADIR)' | cmp -s - $(DATADIR_STAMP) || echo '$(DATADIR)' > $(DATADIR_STAMP)))
$(BUILD)/lab/qemu.o $(BUILD)/lab/linux.o: $(DATADIR_STAMP)
$(BUILD)/lab/qemu.o $(BUILD)/lab/linux.o: CFLAGS += -DQMIG_DATADIR='"$(DATADIR)"'

# libqmig.a as installed: one relocatable object whose hidden symbols (all
# but QMIG_API) are made local, so an embedder's own qmp_connect or
# errbuf_setf never clashes with ours.  The tests and tools that exercise
# internals link libqmig-internal.a, the same objects as they are.
$(BUILD)/libqmig.a: $(LIB_OBJS)
	@rm -f $@ $(BUILD)/libqmig-all.o
	$(LD) -r -o $(BUILD)/libqmig-all.o $^
	objcopy --localize-hidden $(BUILD)/libqmig-all.o
	ar rcs $@ $(BUILD)/libqmig-all.o
$(BUILD)/libqmig-internal.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libqmig.so: $(LIB_OBJS) libqmig.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libqmig.so.0 -Wl,--version-script=libqmig.map \
	  -o $@ $(LIB_OBJS) $(LDLIBS)

$(BUILD)/qmig: $(CLI_OBJS) $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Man pages and bash completion, generated so they cannot drift from the
# option tables: qmig(1) and qmig-COMMAND(1) are `qmig [COMMAND] --help`
# (which the tables print) set in roff by tools/man/qmig-docgen, qmig(3)
# every QMIG_API function of include/qmig.h with its comment, and the
# completion every --option those help texts name.
MAN_CMDS := migrate recover check dirty-rate lab verify-memory verify-disks create-disks \
  verify-disk-image demo bench agent update pingpong calibrate
MAN_PAGES := $(BUILD)/man/qmig.1 $(MAN_CMDS:%=$(BUILD)/man/qmig-%.1) $(BUILD)/man/qmig.3
DOCGEN := $(BUILD)/tools/qmig-docgen
man: $(MAN_PAGES) $(BUILD)/man/qmig.bash
$(DOCGEN): tools/man/qmig-docgen.c $(BUILD)/libqmig.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libqmig.a $(LDLIBS)
$(BUILD)/man/%.help: $(BUILD)/qmig
	@mkdir -p $(dir $@)
	$(BUILD)/qmig $* --help > $@
$(BUILD)/man/qmig.help: $(BUILD)/qmig
	@mkdir -p $(dir $@)
	$(BUILD)/qmig --help > $@
$(BUILD)/man/qmig-%.1: $(BUILD)/man/%.help $(BUILD)/man/qmig.help $(DOCGEN)
	$(DOCGEN) man qmig-$* 1 "$$(awk '$$1 == "$*" { $$1 = ""; sub(/^ +/, ""); print }' \
	  $(BUILD)/man/qmig.help)" < $< > $@.tmp && mv $@.tmp $@
$(BUILD)/man/qmig.1: $(BUILD)/man/qmig.help $(DOCGEN)
	$(DOCGEN) man qmig 1 "live migration of QEMU guests" < $< > $@.tmp && mv $@.tmp $@
$(BUILD)/man/qmig.3: include/qmig.h $(DOCGEN)
	@mkdir -p $(dir $@)
	$(DOCGEN) man3 < $< > $@.tmp && mv $@.tmp $@
$(BUILD)/man/qmig.bash: $(MAN_CMDS:%=$(BUILD)/man/%.help) $(DOCGEN)
	$(DOCGEN) completion $(BUILD)/man $(MAN_CMDS) > $@.tmp && mv $@.tmp $@

# The lab guest: freestanding 32-bit multiboot ELF, booted with -kernel.
$(BUILD)/guest/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/guest/%.o: guest/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<
$(GUEST): $(patsubst guest/%,$(BUILD)/guest/%.o,$(basename $(wildcard guest/*.c guest/*.S))) guest/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^) -lgcc

# The Linux lab guest (qmig lab start --guest linux): the kernel `make deps`
# unpacked into $(BUILD)/linux (copied to a fixed name), and an initramfs
# (newc cpio) of a static /init of ours and the e1000 driver of that kernel.
# Built with `all` only when the kernel is there; its tests skip without it.
LINUX_VMLINUZ := $(lastword $(sort $(wildcard $(BUILD)/linux/boot/vmlinuz-*)))
LINUX_E1000 := $(lastword $(sort $(wildcard \
  $(BUILD)/linux/lib/modules/*/kernel/drivers/net/ethernet/intel/e1000/e1000.ko)))
.PHONY: linux-guest
ifneq ($(LINUX_VMLINUZ),)
all: linux-guest
linux-guest: $(BUILD)/linux/vmlinuz $(BUILD)/linux/initramfs.cpio.gz
endif
$(BUILD)/linux/vmlinuz: $(LINUX_VMLINUZ)
	cp $< $@
$(BUILD)/linux/init: guest/linux/init.c guest/pattern.h Makefile
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -std=gnu11 $(WARN) -D_GNU_SOURCE -I. -o $@ $<
$(BUILD)/linux/initramfs.cpio.gz: $(BUILD)/linux/init $(LINUX_E1000)
	rm -rf $(BUILD)/linux/root
	mkdir -p $(BUILD)/linux/root/lib/modules
	cp $(BUILD)/linux/init $(BUILD)/linux/root/init
	cp $(LINUX_E1000) $(BUILD)/linux/root/lib/modules/e1000.ko
	cd $(BUILD)/linux/root && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n > ../initramfs.cpio.gz.tmp
	mv $@.tmp $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libqmig-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libqmig-internal.a $(LDLIBS) -lcmocka

# The integration tests' tunnel client (a test helper, not installed): the
# library's protocol 2 client behind a line interface on stdin/stdout.
$(BUILD)/tests/tunnel_client: tests/helpers/tunnel_client.c $(BUILD)/libqmig-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libqmig-internal.a $(LDLIBS)

# The tests' build of qmig (not installed): the agent with its test-only
# option test-clock-skew-ms (agent/skew.c, -DQMIG_TEST_HOOKS), for
# tests/integration/tunnel-clock-skew.sh.  libqmig and $(BUILD)/qmig never
# have it.
TESTHOOK_SRCS := agent/agent.c agent/options.c agent/serve.c agent/skew.c
$(BUILD)/testhooks/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DQMIG_TEST_HOOKS -c -o $@ $<
$(BUILD)/tests/qmig-testhooks: $(CLI_OBJS) $(TESTHOOK_SRCS:%.c=$(BUILD)/testhooks/%.o) \
  $(filter-out $(TESTHOOK_SRCS:%.c=$(BUILD)/%.o),$(LIB_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# libFuzzer targets, one per parser of untrusted input (fuzz/fuzz_NAME.c;
# docs/FUZZING.md).  The library is built apart with clang and the
# sanitizers into $(FUZZ_BUILD); every target links that archive.
# `make fuzz-NAME` builds one; `make fuzz` builds all and runs each for
# FUZZ_TIME seconds (or FUZZ_RUNS inputs) from fuzz/corpus/NAME, FUZZ_JOBS
# at a time.
FUZZ_BUILD := build-fuzz
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_RUNS ?=
FUZZ_JOBS ?= 1
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wshadow -Wvla \
  -Wstrict-prototypes -Werror -MMD -MP -D_GNU_SOURCE -Iinclude -I. $(PKG_CFLAGS) \
  $(FUZZ_SAN)
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
$(FUZZ_BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_BUILD)/libqmig.a: $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz/fuzz_%.o $(FUZZ_BUILD)/libqmig.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lpthread -lm
.SECONDARY: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz/fuzz_%.o)
fuzz-%: $(FUZZ_BUILD)/fuzz_%
	@:
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@FUZZ_JOBS=$(FUZZ_JOBS) sh fuzz/run.sh "$(FUZZ_TIME)" "$(FUZZ_RUNS)" $(FUZZ_BINS)
# What CI runs (make check): every target for 30 s, two at a time.
fuzz-ci: fuzz-build
	@FUZZ_JOBS=2 sh fuzz/run.sh 30 "" $(FUZZ_BINS)

# Soak: N lab migrations back and forth in one process through libqmig
# (tests/soak.c); fails on any failed round or fd/RSS growth.  Minutes.
N ?= 100
$(BUILD)/soak: tests/soak.c $(BUILD)/libqmig-internal.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libqmig-internal.a $(LDLIBS)
soak: deps all $(BUILD)/soak
	$(BUILD)/soak -n $(N)

# deps: the one shared step that installs missing Debian packages (as root),
# DEPS=check (default: everything make check runs) or DEPS=demo (only what
# building and `make demo` need; tests/deps.sh has both lists).
DEPS ?= check
deps:
	@QMIG_BUILD=$(BUILD) sh tests/deps.sh $(DEPS)

# Before the tests: every fuzz target for 30 s (fuzz-ci, docs/FUZZING.md).
check: deps all $(UNIT_BINS) $(BUILD)/soak fuzz-ci
	@QMIG=$(CURDIR)/$(BUILD)/qmig sh tests/run-tests.sh $(UNIT_BINS)

# The fault matrix (tests/faults/run.sh): every fault in every mode, then the
# table; check-faults-fast is the subset make check runs
# (tests/integration/faults-fast.sh).  FAULTS="kill-active dst-killed:tls" picks cells.
check-faults: deps all
	@QMIG=$(CURDIR)/$(BUILD)/qmig bash tests/faults/run.sh $(FAULTS)
check-faults-fast: deps all
	@QMIG=$(CURDIR)/$(BUILD)/qmig bash tests/faults/run.sh --fast

check-unit: all $(UNIT_BINS)
	@sh tests/run-tests.sh --unit-only $(UNIT_BINS)

# Target-specific: the deps that demo pulls in install the demo set only.
demo: DEPS = demo
demo: deps all
	$(BUILD)/qmig demo

bench-native: deps all
	sh tools/bench/native.sh

bench-tunnel: deps all
	bash tools/bench/tunnel.sh

bench-storage: deps all
	bash tools/bench/storage.sh

# qmig bench presets at full size (docs/BENCHMARKING.md): 1 GiB guest, RUNS
# runs each, interleaved; results in BENCH_OUT.  Run on a quiet machine.
RUNS ?= 10
BENCH_OUT ?= build/bench
bench-transports: deps all
	$(BUILD)/qmig bench --preset transports --runs $(RUNS) --out $(BENCH_OUT)/transports
bench-dirty-rate: deps all
	$(BUILD)/qmig bench --preset dirty-rate --runs $(RUNS) --out $(BENCH_OUT)/dirty-rate
# Live update vs local migration at 256 MiB and 2 GiB, with the issue's
# targets (tools/bench/update.sh; QEMU 10 from make deps for cpr-transfer).
bench-update: deps all
	RUNS=$(RUNS) OUT=$(BENCH_OUT)/update bash tools/bench/update.sh
# The tunnel's forwarding alone (raw TCP, copy, splice, TLS), CPU-s/GB per
# mode, medians; BASE=<git ref> runs that ref's bench interleaved (old-MODE)
# for a before/after in one run.  docs/TUNNEL.md, "The TLS data path".
GIB ?= 1
ROUNDS ?= 5
BASE ?=
$(BUILD)/bench_tunnel_fwd: tools/bench/tunnel_fwd.c $(BUILD)/libqmig-internal.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libqmig-internal.a $(LDLIBS)
bench-fwd: $(BUILD)/bench_tunnel_fwd
	@set -e; base=; if [ -n "$(BASE)" ]; then \
	  d=$(BUILD)/fwd-base; rm -rf $$d; mkdir -p $$d; \
	  git archive "$(BASE)" | tar -x -C $$d; \
	  $(MAKE) -s -C $$d BUILD=build build/bench_tunnel_fwd >/dev/null; \
	  base=$$d/build/bench_tunnel_fwd; fi; \
	  bash tools/bench/fwd.sh $(BUILD)/bench_tunnel_fwd $(GIB) $(ROUNDS) $$base

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(DATADIR)
	install -m 755 $(BUILD)/qmig $(DESTDIR)$(BINDIR)/qmig
	install -m 644 $(BUILD)/libqmig.a $(DESTDIR)$(LIBDIR)/libqmig.a
	install -m 755 $(BUILD)/libqmig.so $(DESTDIR)$(LIBDIR)/libqmig.so.0
	ln -sf libqmig.so.0 $(DESTDIR)$(LIBDIR)/libqmig.so
	install -m 644 include/qmig.h $(DESTDIR)$(INCLUDEDIR)/qmig.h
	install -m 644 $(GUEST) $(DESTDIR)$(DATADIR)/qmig-guest.elf
	if [ -f $(BUILD)/linux/initramfs.cpio.gz ]; then install -d $(DESTDIR)$(DATADIR)/linux && \
	  install -m 644 $(BUILD)/linux/vmlinuz $(BUILD)/linux/initramfs.cpio.gz $(DESTDIR)$(DATADIR)/linux/; fi
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' qmig.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/qmig.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(BUILD)/man/qmig.3 $(DESTDIR)$(MANDIR)/man3/qmig.3
	install -m 644 $(BUILD)/man/qmig.bash $(DESTDIR)$(BASHCOMPDIR)/qmig

# Removes exactly what install put there (same PREFIX/LIBDIR/... and DESTDIR).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/qmig $(DESTDIR)$(LIBDIR)/libqmig.a $(DESTDIR)$(LIBDIR)/libqmig.so.0 \
	  $(DESTDIR)$(LIBDIR)/libqmig.so $(DESTDIR)$(INCLUDEDIR)/qmig.h \
	  $(DESTDIR)$(DATADIR)/qmig-guest.elf $(DESTDIR)$(PKGCONFIGDIR)/qmig.pc \
	  $(patsubst $(BUILD)/man/%,$(DESTDIR)$(MANDIR)/man1/%,$(filter %.1,$(MAN_PAGES))) \
	  $(DESTDIR)$(MANDIR)/man3/qmig.3 $(DESTDIR)$(BASHCOMPDIR)/qmig \
	  $(DESTDIR)$(DATADIR)/linux/vmlinuz $(DESTDIR)$(DATADIR)/linux/initramfs.cpio.gz
	-rmdir $(DESTDIR)$(DATADIR)/linux 2>/dev/null
	-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
