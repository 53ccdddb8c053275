package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cavaliergopher/cpio"

	"github.com/gosv/gosv/internal/host/kernelimg"
	"github.com/gosv/gosv/internal/host/qemu"
)

// fakeHost replaces the seams of run.go for one test: no QEMU starts, the
// host probe and the embedded kernel are fakes. It records the Config that
// would have been run.
type fakeHost struct {
	calls      int
	cfg        qemu.Config
	kernelData []byte            // what cfg.Kernel held during the run
	initrd     map[string]string // what cfg.Initrd held: name -> contents or symlink target
	modes      map[string]cpio.FileMode
	status     int
	err        error
}

func setup(t *testing.T, pvm bool, kernel []byte, kernelErr error) *fakeHost {
	t.Helper()
	h := &fakeHost{}
	oldRun, oldProbe, oldKernel, oldCheck := runVM, probeHost, embeddedKernel, checkPorts
	t.Cleanup(func() { runVM, probeHost, embeddedKernel, checkPorts = oldRun, oldProbe, oldKernel, oldCheck })
	checkPorts = func(qemu.Net) error { return nil } // tests must not depend on the host's free ports
	runVM = func(_ context.Context, cfg qemu.Config, stdout, stderr io.Writer) (int, error) {
		h.calls++
		h.cfg = cfg
		h.kernelData, _ = os.ReadFile(cfg.Kernel)
		if cfg.Initrd != "" {
			h.initrd, h.modes = readInitrd(cfg.Initrd)
		}
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

// readInitrd returns the entries of a newc archive (nil when it cannot be
// read).
func readInitrd(p string) (map[string]string, map[string]cpio.FileMode) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	r := cpio.NewReader(f)
	files, modes := map[string]string{}, map[string]cpio.FileMode{}
	for {
		h, err := r.Next()
		if err != nil {
			if err != io.EOF {
				return nil, nil
			}
			return files, modes
		}
		data, _ := io.ReadAll(r)
		if h.Linkname != "" {
			data = []byte(h.Linkname)
		}
		files[h.Name], modes[h.Name] = string(data), h.Mode
	}
}

// staticELF is a minimal statically linked x86-64 executable.
func staticELF() []byte { return makeExe("") }

// makeExe returns a minimal x86-64 executable: the ELF header, a PT_LOAD
// over the whole file at 0x400000, a PT_INTERP for interp when it is not
// empty, and a hlt at the entry point.
func makeExe(interp string) []byte {
	le := binary.LittleEndian
	phnum := 1
	if interp != "" {
		phnum = 2
	}
	hdrs := 64 + 56*phnum
	b := make([]byte, hdrs)
	if interp != "" {
		b = append(b, interp+"\x00"...)
	}
	b = append(b, 0xf4)
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[16:], 2)  // ET_EXEC
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], 0x400000+uint64(len(b)-1))
	le.PutUint64(b[32:], 64) // e_phoff
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[56:], uint16(phnum))
	ph := func(i int, typ, flags uint32, off, size, align uint64) {
		p := b[64+56*i:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], flags)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], 0x400000+off)
		le.PutUint64(p[24:], 0x400000+off)
		le.PutUint64(p[32:], size)
		le.PutUint64(p[40:], size)
		le.PutUint64(p[48:], align)
	}
	ph(0, 1, 5, 0, uint64(len(b)), 0x1000) // PT_LOAD R+X
	if interp != "" {
		ph(1, 3, 4, uint64(hdrs), uint64(len(interp)+1), 1) // PT_INTERP
	}
	return b
}

// writeExe writes staticELF to a new directory as name (mode 0755) and
// returns its path.
func writeExe(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, staticELF(), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunDefaults(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	exe := writeExe(t, "ls")
	code, _, stderr := run(t, "run", exe, "-la")
	if code != 0 || stderr != "" {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	want := qemu.Config{Hypervisor: "qemu-microvm", Accel: "kvm", MemoryMiB: 128, CPUs: 1, Cmdline: "/ls -la"}
	got := h.cfg
	got.Kernel = ""
	if h.calls != 1 || got.Hypervisor != want.Hypervisor || got.Accel != want.Accel || got.MemoryMiB != want.MemoryMiB ||
		got.CPUs != want.CPUs || got.Cmdline != want.Cmdline || got.Initrd == "" || len(got.ExtraArgs) != 0 {
		t.Fatalf("config %+v, want %+v", got, want)
	}
	// The executable travelled in the initrd, removed after.
	if len(h.initrd) != 1 || h.initrd["ls"] != string(staticELF()) || h.modes["ls"] != cpio.TypeReg|0o755 {
		t.Errorf("initrd %q", h.initrd)
	}
	if _, err := os.Stat(h.cfg.Initrd); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary initrd %s not removed (%v)", h.cfg.Initrd, err)
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
	exe := writeExe(t, "ls")
	code, _, stderr := run(t, "run", "-m", "1G", exe, "--memory", "2G", "-c", "3", "--env", "A=B", "--help")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if h.cfg.MemoryMiB != 1024 || h.cfg.CPUs != 1 {
		t.Errorf("memory %d, cpus %d: flags after APP were taken by gosv", h.cfg.MemoryMiB, h.cfg.CPUs)
	}
	if want := "/ls --memory 2G -c 3 --env A=B --help"; h.cfg.Cmdline != want {
		t.Errorf("cmdline %q, want %q", h.cfg.Cmdline, want)
	}
}

func TestRunAllFlags(t *testing.T) {
	h := setup(t, true, nil, kernelimg.ErrNoKernel)
	k := filepath.Join(t.TempDir(), "my kernel.elf")
	if err := os.WriteFile(k, fakeELF, 0o644); err != nil {
		t.Fatal(err)
	}
	exe := writeExe(t, "echo")
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "f.txt"), []byte("data"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f.txt", filepath.Join(data, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOSV_TEST_HOST", "from host")
	code, _, stderr := run(t, "run", "--memory=512MiB", "--cpus", "4", "--hypervisor", "qemu-q35", "--accel", "tcg",
		"--kernel", k, "--kernel-arg", "--verbose", "--kernel-arg=--env=MSG=a b,c",
		"--env", "A=1", "-e", "B=x y", "-e=C=", "-e", "GOSV_TEST_HOST", "-e", "GOSV_TEST_UNSET_VARIABLE",
		"--cwd", "/data", "--copy", data+":/data", "--copy="+exe+":/bin/", "--",
		exe, "a b", `"q"`, "")
	if code != 0 || stderr != "" {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	c := h.cfg
	if c.MemoryMiB != 512 || c.CPUs != 4 || c.Hypervisor != "qemu-q35" || c.Accel != "tcg" || c.Kernel != k {
		t.Errorf("config %+v", c)
	}
	want := `--verbose "--env=MSG=a b,c" --env=A=1 "--env=B=x y" --env=C= "--env=GOSV_TEST_HOST=from host" ` +
		`--cwd=/data /bin/echo "a b" "\"q\"" ""`
	if c.Cmdline != want {
		t.Errorf("cmdline %q, want %q", c.Cmdline, want)
	}
	wantFiles := map[string]string{"bin": "", "bin/echo": string(staticELF()), "data": "", "data/f.txt": "data", "data/link": "f.txt"}
	wantModes := map[string]cpio.FileMode{"bin": cpio.TypeDir | 0o755, "bin/echo": cpio.TypeReg | 0o755,
		"data": cpio.TypeDir | 0o750, "data/f.txt": cpio.TypeReg | 0o640, "data/link": cpio.TypeSymlink | 0o777}
	if len(h.initrd) != len(wantFiles) {
		t.Errorf("initrd %q, want %q", h.initrd, wantFiles)
	}
	for name, w := range wantFiles {
		if h.initrd[name] != w || h.modes[name] != wantModes[name] {
			t.Errorf("initrd %s: %q mode %o; want %q mode %o", name, h.initrd[name], h.modes[name], w, wantModes[name])
		}
	}
}

func TestRunShortFlags(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	// A name without a slash is looked up in $PATH.
	t.Setenv("PATH", filepath.Dir(writeExe(t, "app")))
	if code, _, stderr := run(t, "run", "-m", "64", "-c", "2", "-e", "X=1", "app"); code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if h.cfg.MemoryMiB != 64 || h.cfg.CPUs != 2 || h.cfg.Cmdline != "--env=X=1 /app" {
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
	if code, _, stderr := run(t, "run", writeExe(t, "app")); code != 42 || stderr != "" {
		t.Fatalf("code %d, stderr %q; want 42", code, stderr)
	}
}

func TestRunAccelNote(t *testing.T) {
	h := setup(t, true, fakeELF, nil)
	code, _, stderr := run(t, "run", writeExe(t, "app"))
	if code != 0 || h.cfg.Accel != "tcg" {
		t.Fatalf("code %d, accel %q", code, h.cfg.Accel)
	}
	if want := "gosv: note: /dev/kvm is kvm_pvm (software PVM, no VMX/SVM): using TCG\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

// TestRunErrors checks that every failure is one "gosv: " line on stderr,
// exit status 125, and that no VM starts.
func TestRunErrors(t *testing.T) {
	exe := writeExe(t, "app")
	cases := []struct {
		name string
		pvm  bool
		args []string
		want string // substring of the error line
	}{
		{"memory zero", false, []string{"run", "-m", "0"}, `--memory: invalid memory size "0": must be at least 1 MiB`},
		{"memory garbage", false, []string{"run", "--memory", "lots", exe}, `invalid memory size "lots"`},
		{"memory not whole MiB", false, []string{"run", "-m", "512k", exe}, "not a whole number of MiB"},
		{"memory too big", false, []string{"run", "-m", "2T", exe}, "larger than 1 TiB"},
		{"cpus zero", false, []string{"run", "-c", "0", exe}, "--cpus: invalid CPU count 0: want 1 to 255"},
		{"cpus too many", false, []string{"run", "--cpus=256", exe}, "invalid CPU count 256"},
		{"cpus garbage", false, []string{"run", "-c", "two", exe}, `invalid argument "two" for "-c, --cpus" flag`},
		{"unknown flag", false, []string{"run", "--bogus", exe}, "unknown flag: --bogus (see 'gosv run --help')"},
		{"missing flag value", false, []string{"run", "-m"}, "flag needs an argument"},
		{"hypervisor", false, []string{"run", "--hypervisor", "firecracker", exe},
			`unknown hypervisor "firecracker": want qemu-microvm or qemu-q35`},
		{"accel unknown", false, []string{"run", "--accel", "xen", exe}, `unknown accelerator "xen"`},
		{"accel kvm on pvm", true, []string{"run", "--accel", "kvm", exe}, "kvm requested but /dev/kvm is kvm_pvm"},
		{"kernel missing", false, []string{"run", "--kernel", "/nonexistent/k.elf", exe}, "--kernel: stat /nonexistent/k.elf"},
		{"copy without colon", false, []string{"run", "--copy", "a", exe}, `--copy "a": want HOST_PATH:GUEST_PATH (see 'gosv run --help')`},
		{"copy relative guest", false, []string{"run", "--copy", "a:b", exe}, `--copy "a:b": guest path b is not absolute (see 'gosv run --help')`},
		{"copy missing", false, []string{"run", "--copy", "/nonexistent/x:/x", exe}, "--copy /nonexistent/x:/x: /nonexistent/x: no such file or directory"},
		{"env without name", false, []string{"run", "-e", "=x", exe}, `--env "=x": want NAME=VALUE or NAME (see 'gosv run --help')`},
		{"env missing value", false, []string{"run", "--env"}, "flag needs an argument: --env"},
		{"cwd missing value", false, []string{"run", "--cwd"}, "flag needs an argument: --cwd"},
		{"publish syntax", false, []string{"run", "-p", "80", exe}, "-p 80: want [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp] (see 'gosv run --help')"},
		{"publish port zero", false, []string{"run", "-p", "0:80", exe}, `-p 0:80: host port "0": want a number from 1 to 65535`},
		{"publish protocol", false, []string{"run", "-p", "8080:80/sctp", exe}, `protocol "sctp": want tcp or udp`},
		{"publish twice", false, []string{"run", "-p", "8080:80", "-p", "8080:81", exe}, "host port 8080/tcp is published twice"},
		{"publish without user net", false, []string{"run", "--net", "none", "-p", "8080:80", exe}, "-p needs the user network (--net user), not --net none"},
		{"net unknown", false, []string{"run", "--net", "bridge", exe}, "--net bridge: want none, user or tap=IFNAME"},
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

// A program that cannot run is refused before booting, with the shell's
// statuses: 127 when it does not exist, 126 when it is not a static x86-64
// ELF executable.
func TestRunExecErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dyn := filepath.Join(dir, "dyn")
	elf := staticELF()
	binary.LittleEndian.PutUint16(elf[18:], 183) // EM_AARCH64
	arm := filepath.Join(dir, "arm")
	if err := os.WriteFile(arm, elf, 0o755); err != nil {
		t.Fatal(err)
	}
	d := makeExe("/lib/ld.so")
	if err := os.WriteFile(dyn, d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	cases := []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"run", "/nonexistent/prog"}, 127, "gosv: /nonexistent/prog: no such file\n"},
		{[]string{"run", "prog", "x"}, 127, "gosv: prog: not found in $PATH\n"},
		{[]string{"run", text}, 126, "gosv: " + text + ": not an ELF executable\n"},
		{[]string{"run", dir}, 126, "gosv: " + dir + ": is a directory\n"},
		{[]string{"run", "arm"}, 126, "gosv: " + arm + ": not an x86-64 executable (machine EM_AARCH64)\n"},
		{[]string{"run", dyn}, 126, "gosv: " + dyn + ": interpreter /lib/ld.so (PT_INTERP of " + dyn + "): no such file\n"},
	}
	for _, c := range cases {
		h := setup(t, false, fakeELF, nil)
		code, stdout, stderr := run(t, c.args...)
		if code != c.status || stderr != c.stderr || stdout != "" || h.calls != 0 {
			t.Errorf("%q: code %d, stdout %q, stderr %q, VM started %d times; want %d, %q",
				c.args, code, stdout, stderr, h.calls, c.status, c.stderr)
		}
	}
}

func TestRunNoEmbeddedKernel(t *testing.T) {
	h := setup(t, false, nil, kernelimg.ErrNoKernel)
	code, _, stderr := run(t, "run", writeExe(t, "app"))
	want := "gosv: this gosv binary carries no kernel: build it with `make build`, or pass --kernel FILE\n"
	if code != 125 || stderr != want || h.calls != 0 {
		t.Fatalf("code %d, stderr %q, calls %d", code, stderr, h.calls)
	}
}

func TestRunVMError(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	h.err = errors.New("the VM stopped without reporting an exit status (QEMU exit status 0)")
	code, _, stderr := run(t, "run", writeExe(t, "app"))
	if code != 125 || stderr != "gosv: the VM stopped without reporting an exit status (QEMU exit status 0)\n" {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

// A broken pipe on the app's output ends gosv quietly with 141, like a
// program killed by SIGPIPE; another write failure is an error.
func TestRunWriteErrors(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	h.err = &qemu.WriteError{Stream: "stdout", Err: &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}}
	exe := writeExe(t, "app")
	if code, stdout, stderr := run(t, "run", exe); code != 141 || stdout != "" || stderr != "" {
		t.Errorf("broken pipe: code %d, stdout %q, stderr %q; want 141 and no output", code, stdout, stderr)
	}
	h.err = &qemu.WriteError{Stream: "stdout", Err: syscall.ENOSPC}
	if code, _, stderr := run(t, "run", exe); code != 125 || stderr != "gosv: writing the app's stdout: no space left on device\n" {
		t.Errorf("full disk: code %d, stderr %q", code, stderr)
	}
}

func TestRunInterrupted(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	exe := writeExe(t, "app")
	// While the VM runs.
	ctx, cancel := context.WithCancel(context.Background())
	runVM = func(ctx context.Context, _ qemu.Config, _, _ io.Writer) (int, error) {
		h.calls++
		cancel()
		return 0, ctx.Err()
	}
	var errb bytes.Buffer
	if code := execute(ctx, []string{"run", exe}, io.Discard, &errb); code != 125 || errb.String() != "gosv: interrupted: the VM was stopped\n" {
		t.Fatalf("code %d, stderr %q", code, errb.String())
	}
	// Before it starts (while the image is built).
	h.calls = 0
	errb.Reset()
	if code := execute(ctx, []string{"run", exe}, io.Discard, &errb); code != 125 || errb.String() != "gosv: interrupted before the VM started\n" || h.calls != 0 {
		t.Fatalf("code %d, stderr %q, VM started %d times", code, errb.String(), h.calls)
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

func TestRunNetwork(t *testing.T) {
	exe := writeExe(t, "app")
	h := setup(t, false, fakeELF, nil)
	if code, _, stderr := run(t, "run", exe); code != 0 || stderr != "" {
		t.Fatalf("status %d, stderr %q", code, stderr)
	}
	if h.cfg.Net.Mode != "" || len(h.cfg.Net.Ports) != 0 {
		t.Fatalf("default network %+v, want none", h.cfg.Net)
	}
	if code, _, stderr := run(t, "run", "-p", "8080:80", "--publish=127.0.0.1:9000-9001:7000-7001/udp", exe); code != 0 {
		t.Fatalf("status %d, stderr %q", code, stderr)
	}
	var got []string
	for _, p := range h.cfg.Net.Ports {
		got = append(got, p.String())
	}
	if want := []string{"8080:80/tcp", "127.0.0.1:9000:7000/udp", "127.0.0.1:9001:7001/udp"}; !slices.Equal(got, want) {
		t.Fatalf("ports %q, want %q", got, want)
	}
	cfg := h.cfg
	cfg.ControlPath = "/tmp/control"
	args, err := cfg.Args()
	if err != nil || !slices.Contains(args, "user,id=net0,hostfwd=tcp::8080-:80,hostfwd=udp:127.0.0.1:9000-:7000,hostfwd=udp:127.0.0.1:9001-:7001") {
		t.Fatalf("QEMU args %q %v", args, err)
	}
	if code, _, _ := run(t, "run", "--net", "user", exe); code != 0 || h.cfg.Net.Mode != "user" {
		t.Fatalf("--net user: %+v", h.cfg.Net)
	}
	if code, _, _ := run(t, "run", "--net=tap=tap0", exe); code != 0 || h.cfg.Net.Tap != "tap0" {
		t.Fatalf("--net tap: %+v", h.cfg.Net)
	}
}

// A host port in use is refused before boot, with status 125 and the port
// named.
func TestRunPortInUse(t *testing.T) {
	exe := writeExe(t, "app")
	h := setup(t, false, fakeELF, nil)
	checkPorts = qemu.Net.CheckPortsFree
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	code, _, stderr := run(t, "run", "-p", addr+":80", exe)
	if code != 125 || h.calls != 0 {
		t.Fatalf("status %d, VM started %d times", code, h.calls)
	}
	if want := "gosv: host port " + addr + "/tcp is not available: bind: address already in use\n"; stderr != want {
		t.Fatalf("stderr %q, want %q", stderr, want)
	}
}
