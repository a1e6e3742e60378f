# qmig: plain GNU make. `make`, `make check`, `make demo`, `make install`.
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

CC ?= cc
PKGS := jansson libnbd libssl libcrypto liburing
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -ljansson -lnbd -lssl -lcrypto -luring)

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
# bench/*.c is libqmig's bench module; bench/tunnel_fwd.c is a program of its own.
LIB_SRCS := $(wildcard common/*.c qmp/*.c engine/*.c lab/*.c storage/*.c transport/*.c agent/*.c) \
  $(filter-out bench/tunnel_fwd.c,$(wildcard bench/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

GUEST := $(BUILD)/guest/qmig-guest.elf
GUEST_CFLAGS := -m32 -ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -O2 -std=gnu11 $(WARN) -I.
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none -T guest/guest.ld

.PHONY: all check check-unit check-faults check-faults-fast demo deps install clean bench-native bench-tunnel bench-storage bench-transports bench-dirty-rate fuzz-qmp fuzz-scenario fuzz-tunnel bench-fwd
all: $(BUILD)/libqmig.a $(BUILD)/libqmig.so $(BUILD)/qmig $(GUEST)

$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DQMIG_DATADIR='"$(PREFIX)/share/qmig"' -c -o $@ $<

$(BUILD)/libqmig.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libqmig.so: $(LIB_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libqmig.so.0 -o $@ $^ $(LDLIBS)

$(BUILD)/qmig: $(CLI_OBJS) $(BUILD)/libqmig.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The lab guest: freestanding 32-bit multiboot ELF, booted with -kernel.
$(BUILD)/guest/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/guest/%.o: guest/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<
$(GUEST): $(patsubst guest/%,$(BUILD)/guest/%.o,$(basename $(wildcard guest/*.c guest/*.S))) guest/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^) -lgcc

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libqmig.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libqmig.a $(LDLIBS) -lcmocka

# libFuzzer target for the QMP parser (clang); run: $(BUILD)/fuzz_qmp -max_total_time=60
fuzz-qmp:
	@mkdir -p $(BUILD)
	clang -std=gnu11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
	  -I. -Iinclude $(PKG_CFLAGS) -o $(BUILD)/fuzz_qmp fuzz/fuzz_qmp.c $(wildcard qmp/*.c) $(PKG_LIBS)

# libFuzzer target for scenario files (the whole library, clang);
# run: $(BUILD)/fuzz_scenario -max_total_time=60
fuzz-scenario:
	@mkdir -p $(BUILD)
	clang -std=gnu11 -g -O1 -Wall -Wextra -Werror -DQMIG_DATADIR='"$(PREFIX)/share/qmig"' \
	  -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Iinclude $(PKG_CFLAGS) \
	  -o $(BUILD)/fuzz_scenario fuzz/fuzz_scenario.c $(LIB_SRCS) $(PKG_LIBS) -lpthread -lm
# libFuzzer target for the tunnel hello, reply, challenge/response, control
# JSON and channel classifier; run: $(BUILD)/fuzz_tunnel -max_total_time=60 fuzz/seeds/tunnel
# (seeds: one valid message of each kind, so the JSON parsers are reached)
fuzz-tunnel:
	@mkdir -p $(BUILD)
	clang -std=gnu11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
	  -I. -Iinclude $(PKG_CFLAGS) -o $(BUILD)/fuzz_tunnel fuzz/fuzz_tunnel.c transport/hello.c \
	  transport/auth.c transport/control.c common/errbuf.c $(PKG_LIBS)

# deps: the one shared step that installs missing Debian packages (as root).
deps:
	@sh tests/deps.sh

check: deps all $(UNIT_BINS)
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

demo: deps all
	$(BUILD)/qmig demo

bench-native: deps all
	sh bench/native.sh

bench-tunnel: deps all
	bash bench/tunnel.sh

bench-storage: deps all
	bash bench/storage.sh

# qmig bench presets at full size (docs/BENCHMARKING.md): 1 GiB guest, RUNS
# runs each, interleaved; results in BENCH_OUT.  Run on a quiet machine.
RUNS ?= 10
BENCH_OUT ?= build/bench
bench-transports: deps all
	$(BUILD)/qmig bench --preset transports --runs $(RUNS) --out $(BENCH_OUT)/transports
bench-dirty-rate: deps all
	$(BUILD)/qmig bench --preset dirty-rate --runs $(RUNS) --out $(BENCH_OUT)/dirty-rate
# The tunnel's forwarding alone (raw TCP vs tunnel plain vs TLS), see docs/TUNNEL.md.
GIB ?= 4
ROUNDS ?= 3
$(BUILD)/bench_tunnel_fwd: bench/tunnel_fwd.c $(BUILD)/libqmig.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libqmig.a $(LDLIBS)
bench-fwd: $(BUILD)/bench_tunnel_fwd
	@k=$$(mktemp); echo "qemu:$$(openssl rand -hex 32)" > $$k; uptime; \
	  $(BUILD)/bench_tunnel_fwd $(GIB) $(ROUNDS) $$k; rc=$$?; rm -f $$k; exit $$rc

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/qmig
	install -m 755 $(BUILD)/qmig $(DESTDIR)$(PREFIX)/bin/qmig
	install -m 644 $(BUILD)/libqmig.a $(DESTDIR)$(PREFIX)/lib/libqmig.a
	install -m 755 $(BUILD)/libqmig.so $(DESTDIR)$(PREFIX)/lib/libqmig.so.0
	ln -sf libqmig.so.0 $(DESTDIR)$(PREFIX)/lib/libqmig.so
	install -m 644 include/qmig.h $(DESTDIR)$(PREFIX)/include/qmig.h
	install -m 644 $(GUEST) $(DESTDIR)$(PREFIX)/share/qmig/qmig-guest.elf
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' qmig.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/qmig.pc

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
