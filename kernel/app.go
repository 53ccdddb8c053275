package main

import (
	"bytes"
	"fmt"
	"github.com/gosv/gosv/internal/bootproto"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/gosv/gosv/kernel/bootopts"
	"github.com/gosv/gosv/kernel/fs"
	"github.com/gosv/gosv/kernel/linux"
	"github.com/gosv/gosv/kernel/machine"
	"github.com/gosv/gosv/kernel/vdso"
)

// machineMem, machinePager and machineRunner connect package linux to the
// machine layer.
type machineMem struct{}

func (machineMem) CopyIn(dst []byte, addr uintptr) error  { return machine.CopyIn(dst, addr) }
func (machineMem) CopyOut(addr uintptr, src []byte) error { return machine.CopyOut(addr, src) }

type machinePager struct{}

func (machinePager) Map(addr, n uintptr, prot int) error { return machine.MapApp(addr, n, prot) }
func (machinePager) Unmap(addr, n uintptr) error         { return machine.UnmapApp(addr, n) }
func (machinePager) Protect(addr, n uintptr, prot int) error {
	return machine.ProtectApp(addr, n, prot)
}

type machineRunner struct{}

func (machineRunner) Run(t *linux.Task) { machine.RunApp(t.Ctx) }
func (machineRunner) Interrupt(t *linux.Task) {
	if t.Ctx != nil {
		machine.Interrupt(t.Ctx)
	}
	t.Wake()
}

// DefaultPath is the app's PATH unless --env sets one (Docker's default).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// consoleWriter writes to a file descriptor of the kernel's runtime (1 is
// the console, 2 the stderr port).
type consoleWriter int

func (w consoleWriter) Write(p []byte) (int, error) {
	return syscall.Write(int(w), p)
}

// runApp unpacks the initrd into the root filesystem, starts the app and
// returns its exit status.
func runApp(opts bootopts.Options, argv []string) int {
	root := fs.NewRoot()
	// Like tmpfs, the root filesystem may not outgrow memory: writes past
	// that fail with ENOSPC instead of exhausting the kernel's heap.
	if total, _, _ := machine.MemStats(); total > 0 {
		root.SetLimit(int64(total) / 2)
	}
	root.SetConsole(consoleWriter(1).Write, func([]byte) (int, error) { return 0, nil })
	if rd := machine.Initrd(); rd != nil {
		if err := root.UnpackCPIO(bytes.NewReader(rd)); err != nil {
			fmt.Fprintf(os.Stderr, "gosv: initrd: %v\n", err)
			return bootproto.ExitRunnerFailed
		}
	}
	machine.ReleaseInitrd()
	addDefaultFiles(root)
	machine.Mark("initrd")
	linux.Nanotime = func() int64 { return int64(machine.Nanotime()) }
	linux.HWCap = machine.HWCap()
	bootTSC, mult, wallBoot, tscAux := machine.ClockParams()
	if img, err := vdso.Image(vdso.Params{BootTSC: bootTSC, Mult: mult, WallBootNs: wallBoot, RDTSCP: tscAux}); err == nil {
		linux.VDSO = img
	} else {
		fmt.Fprintf(os.Stderr, "gosv: %v: apps get no vDSO\n", err)
	}
	linux.NumCPU = machine.NCPU()
	linux.MemInfo = func() linux.MemStats {
		total, free, _ := machine.MemStats()
		return linux.MemStats{Total: total, Free: free, Available: free}
	}
	p := linux.NewProcess(root, machineMem{}, machinePager{}, machineRunner{}, consoleWriter(2))
	p.Strace = opts.Strace
	if opts.SyscallProfile {
		machine.EnableSyscallProfile()
		defer printSyscallProfile()
	}
	p.FDs.InstallAt(0, &linux.Console{TTY: false}, syscall.O_RDONLY, false)
	p.FDs.InstallAt(1, &linux.Console{W: consoleWriter(1), TTY: false}, syscall.O_WRONLY, false)
	p.FDs.InstallAt(2, &linux.Console{W: consoleWriter(2), TTY: false}, syscall.O_WRONLY, false)

	env := []string{"PATH=" + DefaultPath, "HOME=/"}
	for _, kv := range opts.Env {
		k, _, _ := strings.Cut(kv, "=")
		env = setEnv(env, k, kv)
	}
	if opts.Cwd != "" {
		if err := root.Chdir(nil, opts.Cwd); err != nil {
			fmt.Fprintf(os.Stderr, "gosv: --cwd=%s: %v\n", opts.Cwd, err)
			return bootproto.ExitRunnerFailed
		}
	}
	exe, err := lookPath(root, argv[0], env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosv: %s: %v\n", argv[0], err)
		return bootproto.ExitNotFound
	}
	t, err := p.Exec(exe, argv, env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosv: %v\n", err)
		return bootproto.ExitCannotExec
	}
	machine.Mark("exec")
	if opts.Bootchart {
		bootchart()
	}
	if opts.Verbose {
		fmt.Fprintf(os.Stderr, "gosv: exec %s: entry %#x sp %#x\n", exe, t.Ctx.RIP, t.Ctx.RSP)
	}
	go t.Loop()
	// A pending timer keeps the kernel's runtime from declaring a deadlock
	// while every app thread waits (on a pipe nobody writes, say): on Linux
	// such an app hangs, and so it does here.
	keepalive := time.NewTicker(time.Hour)
	defer keepalive.Stop()
	return p.Wait()
}

func setEnv(env []string, key, kv string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, key+"=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// lookPath finds argv[0] like execvp(3): names with a slash as they are,
// others in $PATH.
func lookPath(root *fs.FS, name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := root.Stat(nil, name, 0); err != nil {
			return "", err
		}
		if !path.IsAbs(name) {
			cwd, _ := root.Getcwd()
			name = path.Join(cwd, name)
		}
		return name, nil
	}
	dirs := DefaultPath
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			dirs = e[5:]
		}
	}
	for _, d := range strings.Split(dirs, ":") {
		p := path.Join(d, name)
		if st, err := root.Stat(nil, p, 0); err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			return p, nil
		}
	}
	return "", fmt.Errorf("command not found in the image (PATH=%s)", dirs)
}

// defaultFiles are created when the image does not bring its own, so that
// user and host names resolve as in a minimal container image.
var defaultFiles = []struct{ path, content string }{
	{"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
	{"/etc/group", "root:x:0:\nnogroup:x:65534:\n"},
	{"/etc/hostname", "gosv\n"},
	{"/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
}

func addDefaultFiles(root *fs.FS) {
	root.Mkdir(nil, "/etc", 0o755)
	root.Mkdir(nil, "/root", 0o700)
	root.Mkdir(nil, "/sys", 0o555) // served by procfs.go; listed in /
	for _, f := range defaultFiles {
		file, err := root.Open(nil, f.path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL, 0o644)
		if err != nil {
			continue // the image has its own
		}
		file.Write([]byte(f.content))
		file.Close()
	}
}

// printSyscallProfile prints the --syscall-profile averages, one line:
// "syscall-profile: N round trips, ns each: part=ns ... total=ns".
func printSyscallProfile() {
	n, parts := machine.SyscallProfile()
	var b strings.Builder
	fmt.Fprintf(&b, "syscall-profile: %d round trips, ns each:", n)
	total := 0.0
	for i, v := range parts {
		fmt.Fprintf(&b, " %s=%.0f", machine.ProfPartNames[i], v)
		total += v
	}
	fmt.Fprintf(&b, " total=%.0f\n", total)
	os.Stderr.WriteString(b.String())
}
