// Package apps holds the differential app tests: each program runs natively
// on the host and under gosv, and stdout and the exit status must match.
package apps

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gosv/gosv/internal/host/kbuild"
)

var (
	gosvPath   string // bin/gosv built with a fresh kernel in TestMain
	kernelPath string
	binDir     string // test programs
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gosv-apps-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		root, _ := filepath.Abs("../..")
		kernelPath = filepath.Join(dir, "gosv-kernel.elf")
		if err := kbuild.Build(context.Background(), kbuild.BuildOptions{Dir: root, Out: kernelPath, Stderr: os.Stderr}); err != nil {
			fmt.Fprintln(os.Stderr, "building the kernel:", err)
			return 1
		}
		gosvPath = filepath.Join(dir, "gosv")
		if err := runCmd(root, "go", "build", "-o", gosvPath, "./cmd/gosv"); err != nil {
			fmt.Fprintln(os.Stderr, "building gosv:", err)
			return 1
		}
		binDir = filepath.Join(dir, "bin")
		os.Mkdir(binDir, 0o755)
		if err := buildPrograms(root); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runCmd(dir string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return nil
}

// buildPrograms compiles the C sources with gcc -static and musl-gcc
// -static, and the Go program with CGO_ENABLED=0.
func buildPrograms(root string) error {
	for _, p := range []string{"hello", "threads", "crash", "fileio", "hammer", "unmapread", "vdso"} {
		src := filepath.Join(root, "tests/apps/src", p+".c")
		if err := runCmd(root, "gcc", "-static", "-O2", "-pthread", "-o", filepath.Join(binDir, p+"-glibc"), src); err != nil {
			return err
		}
		if err := runCmd(root, "musl-gcc", "-static", "-O2", "-o", filepath.Join(binDir, p+"-musl"), src); err != nil {
			return err
		}
	}
	if err := runCmd(root, "g++", "-O2", "-pthread", "-o", filepath.Join(binDir, "cxx"), filepath.Join(root, "tests/apps/src/cxx.cpp")); err != nil {
		return err
	}
	cgo := exec.Command("go", "build", "-o", filepath.Join(binDir, "gocgo"), "./tests/apps/src/gocgo")
	cgo.Dir = root
	cgo.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cgo.CombinedOutput(); err != nil {
		return fmt.Errorf("building gocgo: %v\n%s", err, out)
	}
	for _, p := range []string{"gohello", "goparallel", "gonet", "gonetvm"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, p), "./tests/apps/src/"+p)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", p, err, out)
		}
	}
	return nil
}

// result is what a run printed and returned.
type result struct {
	stdout, stderr string
	status         int
}

// guestEnv is the environment gosv gives the app (Docker's defaults).
var guestEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"}

// native runs prog on the host the way gosv runs it in the guest: argv[0]
// is the guest path, the environment is guestEnv, the directory is cwd.
func native(t *testing.T, cwd, prog, guestPath string, args ...string) result {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Args[0] = guestPath
	cmd.Env = guestEnv
	cmd.Dir = cwd
	return collect(t, cmd)
}

// guest runs prog under gosv run with extra gosv flags before it.
func guest(t *testing.T, flags []string, prog string, args ...string) result {
	t.Helper()
	all := append([]string{"run", "--accel", "tcg", "--kernel", kernelPath}, flags...)
	all = append(all, prog)
	all = append(all, args...)
	return collect(t, exec.Command(gosvPath, all...))
}

func collect(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("%v: timed out\nstdout:\n%s\nstderr:\n%s", cmd.Args, out.String(), errb.String())
	}
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			status = 128 + int(ws.Signal()) // as a shell reports it
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), status}
}

// same runs prog natively and under gosv and compares stdout and status.
func same(t *testing.T, prog string, args ...string) result {
	t.Helper()
	path := filepath.Join(binDir, prog)
	want := native(t, "/", path, "/"+prog, args...)
	got := guest(t, nil, path, args...)
	if got.stdout != want.stdout || got.status != want.status {
		t.Errorf("%s %q:\nnative (status %d):\n%s\ngosv (status %d):\n%s\ngosv stderr:\n%s",
			prog, args, want.status, want.stdout, got.status, got.stdout, got.stderr)
	}
	return got
}

func TestHello(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			r := same(t, "hello-"+libc, "3", "two words", "")
			if r.status != 3 {
				t.Errorf("status %d, want 3", r.status)
			}
			if !strings.Contains(r.stderr, "this goes to stderr") {
				t.Errorf("stderr %q lacks the program's stderr line", r.stderr)
			}
			if strings.Contains(r.stdout, "this goes to stderr") {
				t.Errorf("stderr text reached stdout")
			}
		})
	}
}

func TestThreads(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			r := same(t, "threads-"+libc)
			if !strings.Contains(r.stdout, "counter=160000 total=") {
				t.Errorf("wrong totals:\n%s", r.stdout)
			}
		})
	}
}

func TestFileIO(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) { same(t, "fileio-"+libc) })
	}
}

// A crashing program dies of SIGSEGV (status 139 as a shell reports it),
// and the console shows the signal, the address, RIP with its symbol and
// the registers.
func TestCrash(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			path := filepath.Join(binDir, "crash-"+libc)
			got := guest(t, nil, path)
			if got.status != 139 || got.stdout != "about to crash\n" {
				t.Errorf("status %d stdout %q, want 139 and the greeting", got.status, got.stdout)
			}
			for _, re := range []string{`killed by signal 11 \(SIGSEGV\)`, `at address 0x0 \(write, unmapped\)`, `rip=0x[0-9a-f]+ <main\+0x[0-9a-f]+>`, `rsp=0x[0-9a-f]+`} {
				if !regexp.MustCompile(re).MatchString(got.stderr) {
					t.Errorf("crash report lacks %s:\n%s", re, got.stderr)
				}
			}
		})
	}
}

// The clock calls of glibc, musl and Go go through the vDSO: 1e6
// clock_gettime calls make no clock_gettime system call (--strace), the
// wall clocks agree with the host's, and with two CPUs CLOCK_MONOTONIC read
// alternately by two threads never goes back and getcpu answers a valid CPU.
func TestVDSO(t *testing.T) {
	for _, libc := range []string{"glibc", "musl"} {
		t.Run(libc, func(t *testing.T) {
			before := time.Now().Unix()
			r := guest(t, []string{"-c", "2", "--kernel-arg=--strace"}, filepath.Join(binDir, "vdso-"+libc))
			after := time.Now().Unix()
			want := "vdso yes\nmonotonic advanced yes\nwall clocks agree yes\nbackward 0 badcpu 0\n"
			if r.status != 0 || r.stdout != want {
				t.Fatalf("status %d, stdout:\n%s\nwant:\n%s", r.status, r.stdout, want)
			}
			if !strings.Contains(r.stderr, "] clock_getres(") && !strings.Contains(r.stderr, "] sched_yield(") {
				t.Errorf("--strace showed no system calls:\n%s", r.stderr)
			}
			if n := strings.Count(r.stderr, "clock_gettime("); n != 0 {
				t.Errorf("%d clock_gettime system calls, want 0", n)
			}
			if n := strings.Count(r.stderr, "gettimeofday(") + strings.Count(r.stderr, "] time("); n != 0 {
				t.Errorf("%d gettimeofday/time system calls, want 0", n)
			}
			var unix int64
			var cpus int
			if i := strings.Index(r.stderr, "unix "); i < 0 {
				t.Fatalf("no unix line in stderr:\n%s", r.stderr)
			} else if _, err := fmt.Sscanf(r.stderr[i:], "unix %d cpus %v", &unix, &cpus); err != nil {
				t.Fatal(err)
			}
			// The guest's wall clock starts from the CMOS RTC (1 s resolution).
			if unix < before-2 || unix > after+1 {
				t.Errorf("guest Unix time %d, host between %d and %d", unix, before, after)
			}
			if cpus == 0 || cpus&^3 != 0 {
				t.Errorf("getcpu reported CPUs %#x, want a subset of {0, 1}", cpus)
			}
		})
	}
	t.Run("go", func(t *testing.T) {
		r := guest(t, []string{"--kernel-arg=--strace"}, filepath.Join(binDir, "gohello"))
		if r.status != 7 {
			t.Fatalf("status %d\n%s", r.status, r.stderr)
		}
		if !strings.Contains(r.stderr, "] write(") {
			t.Errorf("--strace showed no write:\n%s", r.stderr)
		}
		if n := strings.Count(r.stderr, "clock_gettime("); n != 0 {
			t.Errorf("Go made %d clock_gettime system calls, want 0", n)
		}
	})
}

func TestGo(t *testing.T) {
	r := same(t, "gohello")
	if r.status != 7 || !strings.Contains(r.stdout, "json round trip") {
		t.Errorf("status %d\n%s", r.status, r.stdout)
	}
}

// Arguments with spaces, quotes and backslashes arrive intact; --env and
// --cwd reach the app.
func TestArgsEnvCwd(t *testing.T) {
	path := filepath.Join(binDir, "hello-musl")
	args := []string{"0", `a "quoted" word`, `back\slash`, "tab\there"}
	want := native(t, "/tmp", path, "/hello-musl", args...)
	want.stdout = strings.Replace(want.stdout, "env HOME=/\n", "env HOME=/\nenv GREETING=hi there\n", 1)
	got := guest(t, []string{"--env", "GREETING=hi there", "--cwd", "/tmp"}, path, args...)
	if got.stdout != want.stdout || got.status != 0 {
		t.Errorf("native:\n%s\ngosv (status %d):\n%s\n%s", want.stdout, got.status, got.stdout, got.stderr)
	}
}

// Files that are not x86-64 executables are refused before booting.
func TestNotAnExecutable(t *testing.T) {
	text := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(text, []byte("hello\n"), 0o755)
	r := guest(t, nil, text)
	if r.status != 126 || !strings.Contains(r.stderr, "notes.txt") {
		t.Errorf("status %d stderr %q", r.status, r.stderr)
	}
	r = guest(t, nil, filepath.Join(t.TempDir(), "missing"))
	if r.status != 127 {
		t.Errorf("missing file: status %d stderr %q", r.status, r.stderr)
	}
}
