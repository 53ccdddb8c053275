# gosv — quick start: `make run` (build and boot the demo), `make test` (the whole suite).
GO       ?= go
KERNEL   := internal/host/kernelimg/kernel/gosv-kernel.elf
GOSV     := bin/gosv
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Debian packages the build, the tests and the demo need.
DEB_PKGS := qemu-system-x86 busybox-static musl-tools hello cpio g++ python3 perl e2fsprogs nginx-light redis-server memcached
# What make bench adds: lz4 unpacks the Linux guest's kernel.
BENCH_PKGS := lz4
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build kernel run test bench deps vet clean

all: build

# deps installs missing Debian packages (as root, or through sudo).
deps:
	@missing=""; for p in $(DEB_PKGS) $(EXTRA_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

kernel:
	$(GO) run ./cmd/gosv-kbuild -o $(KERNEL) -version $(VERSION)

build: kernel
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(GOSV) ./cmd/gosv

# The demo: boot with the bootchart, then run Debian's static busybox in ring 3.
run: deps build
	$(GOSV) run --kernel-arg=--bootchart /bin/busybox uname -a

test: deps build
	$(GO) vet ./...
	$(GO) test -p 1 -count=1 -timeout 60m ./...

# bench compares every figure with a Linux guest (Debian's cloud kernel,
# downloaded once into the user cache directory) on the same QEMU.
bench: build
	@$(MAKE) --no-print-directory deps EXTRA_PKGS="$(BENCH_PKGS)"
	$(GO) run ./tests/bench

clean:
	rm -rf bin build $(KERNEL)
