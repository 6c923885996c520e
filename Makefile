# vmfw build: BPF object -> skeleton -> one self-contained vmfwctl; tests; demo; install.
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
CFLAGS += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Iloader -I$(BUILD)
LDLIBS := -lbpf -lelf -lz -lpcap
# -mcpu=v3: atomic fetch-and-add and compare-and-swap (Linux 5.12), used by the event ring.
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(WARN) -Iinclude \
	$(if $(MULTIARCH),-I/usr/include/$(MULTIARCH))

BPF_SRCS := bpf/vmfw.bpf.c
BPF_HDRS := $(wildcard bpf/lib/*.h) include/vmfw_abi.h
LOADER_SRCS := $(wildcard loader/*.c)
CTL_SRCS := $(wildcard ctl/*.c)
LOADER_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LOADER_SRCS))
CTL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CTL_SRCS))
UNIT_SRCS := $(wildcard selftests/unit/test_*.c)
UNIT_BINS := $(patsubst selftests/unit/%.c,$(BUILD)/selftests/%,$(UNIT_SRCS))
HDRS := $(wildcard include/*.h loader/*.h ctl/*.h)

all: $(BUILD)/vmfwctl bpf-headers

$(BUILD)/bpf/vmfw.bpf.o: bpf/vmfw.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Each header of bpf/lib/ compiles on its own: it includes what it uses and owns its maps, so a new
# program (or the bench) takes the parts it needs. A part's bpf_loop callbacks are unused alone.
BPF_LIB_CHECKS := $(patsubst bpf/lib/%.h,$(BUILD)/bpf/lib/%.h.ok,$(wildcard bpf/lib/*.h))
$(BUILD)/bpf/lib/%.h.ok: bpf/lib/%.h $(BPF_HDRS)
	@mkdir -p $(@D)
	$(call msg,HDRCHECK,$<)
	$(Q)echo '#include "$<"' | $(CLANG) $(BPF_CFLAGS) -Wno-unused-function -I. -fsyntax-only -x c -
	$(Q)touch $@

bpf-headers: $(BPF_LIB_CHECKS)

$(BUILD)/vmfw.skel.h: $(BUILD)/bpf/vmfw.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name vmfw_bpf > $@

$(BUILD)/%.o: %.c $(HDRS) $(BUILD)/vmfw.skel.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/vmfwctl: $(CTL_OBJS) $(LOADER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

# Unit tests link the loader objects and the test-only units (reference evaluators, not in
# vmfwctl); -Werror=unused-function makes an unregistered test a build error.
UNIT_LIB_OBJS := $(patsubst selftests/unit/%.c,$(BUILD)/selftests/lib/%.o,\
	$(filter-out $(UNIT_SRCS),$(wildcard selftests/unit/*.c)))
UNIT_HDRS := $(wildcard selftests/unit/*.h selftests/lib/*.h)
$(BUILD)/selftests/lib/%.o: selftests/unit/%.c $(HDRS) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/selftests/test_%: selftests/unit/test_%.c $(LOADER_OBJS) $(UNIT_LIB_OBJS) $(HDRS) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iselftests/lib -Ictl -Werror=unused-function $< $(CTL_UNDER_TEST) $(LOADER_OBJS) $(UNIT_LIB_OBJS) -o $@ $(LDFLAGS) $(LDLIBS) -lcmocka

# A test of a ctl/ file links vmfwctl's objects, its main() renamed so that the test's runs.
CTL_TEST_OBJS := $(filter-out $(BUILD)/ctl/main.o,$(CTL_OBJS)) $(BUILD)/selftests/ctl_main.o
$(BUILD)/selftests/ctl_main.o: $(BUILD)/ctl/main.o
	@mkdir -p $(@D)
	$(call msg,OBJCOPY,$@)
	$(Q)objcopy --redefine-sym main=vmfwctl_main $< $@

$(BUILD)/selftests/test_replay_diff: CTL_UNDER_TEST = $(CTL_TEST_OBJS)
$(BUILD)/selftests/test_replay_diff: $(CTL_TEST_OBJS)

# Programs the end-to-end tests attach beside vmfw's: allow_all below vmfw's in a cgroup, to show
# it cannot switch vmfw off; xdp_pass on a VM-side veth end, so that vmfw's XDP_TX reaches it.
E2E_BPF_OBJS := $(patsubst selftests/e2e/%.c,$(BUILD)/selftests/%.o,$(wildcard selftests/e2e/*.bpf.c))
$(BUILD)/selftests/%.bpf.o: selftests/e2e/%.bpf.c
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

unit: $(UNIT_BINS) $(UNIT_LIB_OBJS) $(E2E_BPF_OBJS)

# What the verifier did with each program (instructions processed, size, stack): recorded before
# and after a data-path change. Needs root: it loads every program, cgroup ones included.
$(BUILD)/vmfw-verifier-stats: bench/verifier_stats.c
	@mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -lbpf -lelf -lz

verifier-stats: $(BUILD)/bpf/vmfw.bpf.o $(BUILD)/vmfw-verifier-stats
	$(Q)$(BUILD)/vmfw-verifier-stats $(BUILD)/bpf/vmfw.bpf.o

deps:
	$(Q)./selftests/deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)./selftests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./selftests/demo.sh

# Benchmarks: vmfw-bench links the loader objects; a plain LPM trie program is its baseline.
# vmfw-flood generates a 64-byte flood in the kernel; vmfw-tapfwd joins two taps as a VMM would;
# vmfw-sockbench times socket calls in a cgroup.
# The bench's BPF programs may include vmfw's parser (bpf/lib/parse.h), hence -Ibpf/lib.
BENCH_BPF_OBJS := $(patsubst bench/%.c,$(BUILD)/bench/%.o,$(wildcard bench/*.bpf.c))
BENCH_BINS := $(BUILD)/vmfw-bench $(BUILD)/vmfw-flood $(BUILD)/vmfw-tapfwd $(BUILD)/vmfw-sockbench

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c $(wildcard bench/*.h) $(BPF_HDRS)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ibpf/lib -c $< -o $@

$(BUILD)/lpm.skel.h: $(BUILD)/bench/lpm.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name lpm_bpf > $@

$(BUILD)/flood_gen.skel.h: $(BUILD)/bench/flood_gen.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name flood_gen_bpf > $@

# vmfw-bench: a common part, one file per section (bench/bench.h), and main's table of them.
# The bench builds its frames with the unit tests' packet builder, hence -Iselftests/lib.
VMFW_BENCH_OBJS := $(patsubst %.c,$(BUILD)/%.o,bench/main.c bench/common.c bench/packets.c \
	bench/policies.c bench/testrun.c bench/control.c bench/dns.c)
$(VMFW_BENCH_OBJS): $(BUILD)/%.o: %.c $(wildcard bench/*.h) $(HDRS) selftests/lib/pktbuild.h \
		$(BUILD)/vmfw.skel.h $(BUILD)/lpm.skel.h
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iselftests/lib -c $< -o $@

$(BUILD)/vmfw-bench: $(VMFW_BENCH_OBJS) $(LOADER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/vmfw-flood: bench/flood.c $(BUILD)/flood_gen.skel.h selftests/lib/pktbuild.h
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Iselftests/lib $< -o $@ $(LDFLAGS) -lbpf -lelf -lz

$(BUILD)/vmfw-tapfwd: bench/tapfwd.c
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -lpthread

$(BUILD)/vmfw-sockbench: bench/sock.c
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS)

# QUICK=1 (or BENCH_QUICK=1): fewer repetitions and shorter runs, the same cases. STRICT=1 (or
# BENCH_STRICT=1): fail (status 3) when a goal is missed.
bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS) $(BENCH_BPF_OBJS)
	$(Q)BUILD=$(BUILD) BENCH_QUICK=$(or $(QUICK),$(BENCH_QUICK),0) \
		BENCH_STRICT=$(or $(STRICT),$(BENCH_STRICT),0) ./bench/run.sh

# The man page names the documents by their default installed path, rewritten here for PREFIX.
DOCDIR := $(PREFIX)/share/doc/vmfw
DOCS := docs/policy.md docs/architecture.md docs/metrics.md docs/performance.md docs/performance.png

install: $(BUILD)/vmfwctl
	install -D -m 0755 $(BUILD)/vmfwctl $(DESTDIR)$(PREFIX)/sbin/vmfwctl
	install -d $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(DOCDIR)
	sed 's|/usr/local/share/doc/vmfw|$(DOCDIR)|g' docs/vmfwctl.8 >$(DESTDIR)$(PREFIX)/share/man/man8/vmfwctl.8
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man8/vmfwctl.8
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf $(BUILD)

.PHONY: all bpf-headers unit deps check demo bench verifier-stats install clean
