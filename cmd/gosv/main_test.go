package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gosv/gosv/internal/host/kernelimg"
	"github.com/gosv/gosv/internal/host/qemu"
)

// fakeHost replaces the seams of run.go for one test: no QEMU starts, the
// host probe and the embedded kernel are fakes. It records the Config that
// would have been run.
type fakeHost struct {
	calls      int
	cfg        qemu.Config
	kernelData []byte // what cfg.Kernel held during the run
	status     int
	err        error
}

func setup(t *testing.T, pvm bool, kernel []byte, kernelErr error) *fakeHost {
	t.Helper()
	h := &fakeHost{}
	oldRun, oldProbe, oldKernel := runVM, probeHost, embeddedKernel
	t.Cleanup(func() { runVM, probeHost, embeddedKernel = oldRun, oldProbe, oldKernel })
	runVM = func(_ context.Context, cfg qemu.Config, stdout, stderr io.Writer) (int, error) {
		h.calls++
		h.cfg = cfg
		h.kernelData, _ = os.ReadFile(cfg.Kernel)
		return h.status, h.err
	}
	probeHost = func() qemu.Probe {
		return qemu.Probe{PVM: func() bool { return pvm }, OpenKVM: func() error { return nil }}
	}
	embeddedKernel = func() ([]byte, error) { return kernel, kernelErr }
	t.Setenv("TMPDIR", t.TempDir())
	return h
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

var fakeELF = []byte("\x7fELF fake kernel")

func TestRunDefaults(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	code, _, stderr := run(t, "run", "/bin/ls", "-la")
	if code != 0 || stderr != "" {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	want := qemu.Config{Hypervisor: "qemu-microvm", Accel: "kvm", MemoryMiB: 128, CPUs: 1, Cmdline: "/bin/ls -la"}
	got := h.cfg
	got.Kernel = ""
	if h.calls != 1 || got.Hypervisor != want.Hypervisor || got.Accel != want.Accel || got.MemoryMiB != want.MemoryMiB ||
		got.CPUs != want.CPUs || got.Cmdline != want.Cmdline || got.Initrd != "" || len(got.ExtraArgs) != 0 {
		t.Fatalf("config %+v, want %+v", got, want)
	}
	// The embedded kernel travelled through a temporary file, removed after.
	if !bytes.Equal(h.kernelData, fakeELF) {
		t.Errorf("kernel file held %q", h.kernelData)
	}
	if _, err := os.Stat(h.cfg.Kernel); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary kernel %s not removed (%v)", h.cfg.Kernel, err)
	}
}

func TestRunFlagsStopAtApp(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	code, _, stderr := run(t, "run", "-m", "1G", "/bin/ls", "--memory", "2G", "-c", "3", "--help")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if h.cfg.MemoryMiB != 1024 || h.cfg.CPUs != 1 {
		t.Errorf("memory %d, cpus %d: flags after APP were taken by gosv", h.cfg.MemoryMiB, h.cfg.CPUs)
	}
	if want := "/bin/ls --memory 2G -c 3 --help"; h.cfg.Cmdline != want {
		t.Errorf("cmdline %q, want %q", h.cfg.Cmdline, want)
	}
}

func TestRunAllFlags(t *testing.T) {
	h := setup(t, true, nil, kernelimg.ErrNoKernel)
	k := filepath.Join(t.TempDir(), "my kernel.elf")
	if err := os.WriteFile(k, fakeELF, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "run", "--memory=512MiB", "--cpus", "4", "--hypervisor", "qemu-q35", "--accel", "tcg",
		"--kernel", k, "--kernel-arg", "--verbose", "--kernel-arg=--env=MSG=a b,c", "--",
		"/bin/echo", "a b", `"q"`, "")
	if code != 0 || stderr != "" {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	c := h.cfg
	if c.MemoryMiB != 512 || c.CPUs != 4 || c.Hypervisor != "qemu-q35" || c.Accel != "tcg" || c.Kernel != k {
		t.Errorf("config %+v", c)
	}
	if want := `--verbose "--env=MSG=a b,c" /bin/echo "a b" "\"q\"" ""`; c.Cmdline != want {
		t.Errorf("cmdline %q, want %q", c.Cmdline, want)
	}
}

func TestRunShortFlags(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	if code, _, stderr := run(t, "run", "-m", "64", "-c", "2", "app"); code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if h.cfg.MemoryMiB != 64 || h.cfg.CPUs != 2 || h.cfg.Cmdline != "app" {
		t.Errorf("config %+v", h.cfg)
	}
}

func TestRunNoApp(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	if code, _, stderr := run(t, "run", "--kernel-arg", "--selftest"); code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if h.cfg.Cmdline != "--selftest" {
		t.Errorf("cmdline %q", h.cfg.Cmdline)
	}
}

func TestRunExitStatus(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	h.status = 42
	if code, _, stderr := run(t, "run", "/app"); code != 42 || stderr != "" {
		t.Fatalf("code %d, stderr %q; want 42", code, stderr)
	}
}

func TestRunAccelNote(t *testing.T) {
	h := setup(t, true, fakeELF, nil)
	code, _, stderr := run(t, "run", "/app")
	if code != 0 || h.cfg.Accel != "tcg" {
		t.Fatalf("code %d, accel %q", code, h.cfg.Accel)
	}
	if want := "gosv: /dev/kvm is kvm_pvm (software PVM, no VMX/SVM): using TCG\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

// TestRunErrors checks that every failure is one "gosv: " line on stderr,
// exit status 125, and that no VM starts.
func TestRunErrors(t *testing.T) {
	cases := []struct {
		name string
		pvm  bool
		args []string
		want string // substring of the error line
	}{
		{"memory zero", false, []string{"run", "-m", "0"}, `--memory: invalid memory size "0": must be at least 1 MiB`},
		{"memory garbage", false, []string{"run", "--memory", "lots", "/app"}, `invalid memory size "lots"`},
		{"memory not whole MiB", false, []string{"run", "-m", "512k", "/app"}, "not a whole number of MiB"},
		{"memory too big", false, []string{"run", "-m", "2T", "/app"}, "larger than 1 TiB"},
		{"cpus zero", false, []string{"run", "-c", "0", "/app"}, "--cpus: invalid CPU count 0: want 1 to 255"},
		{"cpus too many", false, []string{"run", "--cpus=256", "/app"}, "invalid CPU count 256"},
		{"cpus garbage", false, []string{"run", "-c", "two", "/app"}, `invalid argument "two" for "-c, --cpus" flag`},
		{"unknown flag", false, []string{"run", "--bogus", "/app"}, "unknown flag: --bogus (see 'gosv run --help')"},
		{"missing flag value", false, []string{"run", "-m"}, "flag needs an argument"},
		{"hypervisor", false, []string{"run", "--hypervisor", "firecracker", "/app"},
			`unknown hypervisor "firecracker": want qemu-microvm or qemu-q35`},
		{"accel unknown", false, []string{"run", "--accel", "xen", "/app"}, `unknown accelerator "xen"`},
		{"accel kvm on pvm", true, []string{"run", "--accel", "kvm", "/app"}, "kvm requested but /dev/kvm is kvm_pvm"},
		{"kernel missing", false, []string{"run", "--kernel", "/nonexistent/k.elf", "/app"}, "--kernel: stat /nonexistent/k.elf"},
		{"unknown command", false, []string{"start"}, `unknown command "start" for "gosv"`},
		{"version args", false, []string{"version", "x"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := setup(t, c.pvm, fakeELF, nil)
			code, stdout, stderr := run(t, c.args...)
			if code != 125 {
				t.Errorf("exit status %d, want 125", code)
			}
			if h.calls != 0 {
				t.Errorf("the VM was started")
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if !strings.HasPrefix(stderr, "gosv: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr %q: want one line starting with \"gosv: \"", stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr, c.want)
			}
		})
	}
}

func TestRunNoEmbeddedKernel(t *testing.T) {
	h := setup(t, false, nil, kernelimg.ErrNoKernel)
	code, _, stderr := run(t, "run", "/app")
	want := "gosv: this gosv binary carries no kernel: build it with `make build`, or pass --kernel FILE\n"
	if code != 125 || stderr != want || h.calls != 0 {
		t.Fatalf("code %d, stderr %q, calls %d", code, stderr, h.calls)
	}
}

func TestRunVMError(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	h.err = errors.New("the VM stopped without reporting an exit status (QEMU exit status 0)")
	code, _, stderr := run(t, "run", "/app")
	if code != 125 || stderr != "gosv: the VM stopped without reporting an exit status (QEMU exit status 0)\n" {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

func TestRunInterrupted(t *testing.T) {
	setup(t, false, fakeELF, nil)
	runVM = func(ctx context.Context, _ qemu.Config, _, _ io.Writer) (int, error) {
		return 0, ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errb bytes.Buffer
	if code := execute(ctx, []string{"run", "/app"}, io.Discard, &errb); code != 125 || errb.String() != "gosv: interrupted: the VM was stopped\n" {
		t.Fatalf("code %d, stderr %q", code, errb.String())
	}
}

func TestVersion(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })
	for _, v := range []string{"dev", "v0.1.0"} {
		version = v
		code, stdout, stderr := run(t, "version")
		want := "gosv " + v + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
		if code != 0 || stdout != want || stderr != "" {
			t.Errorf("version: code %d, stdout %q, stderr %q; want %q", code, stdout, stderr, want)
		}
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("a\n\n  b \nc\n"); got != "a; b; c" {
		t.Errorf("oneLine = %q", got)
	}
}
