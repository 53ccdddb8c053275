package main

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/gosv/gosv/internal/bootproto"
	"github.com/gosv/gosv/kernel/dev/virtio"
	"github.com/gosv/gosv/kernel/task"

	"github.com/gosv/gosv/kernel/bootopts"
	"github.com/gosv/gosv/kernel/fsimpl/devfs"
	"github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"github.com/gosv/gosv/kernel/linux"
	"github.com/gosv/gosv/kernel/machine"
	"github.com/gosv/gosv/kernel/vdso"
	"github.com/gosv/gosv/kernel/vfs"
)

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
func runApp(opts bootopts.Options, argv []string, slots []virtio.MMIODevice) int {
	root := ramfs.NewRoot()
	// Like tmpfs, the root filesystem may not outgrow memory: writes past
	// that fail with ENOSPC instead of exhausting the kernel's heap.
	total, _, _ := machine.MemStats()
	if total > 0 {
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
	k := task.NewKernel(task.MachinePlatform())
	netCfg, haveNIC, err := startNetwork(k, opts, slots)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosv: %v\n", err)
		return bootproto.ExitRunnerFailed
	}
	fsys := vfs.NewFS(vfs.NewNamespace(root, "tmpfs", 0))
	if haveNIC {
		addFile(fsys, "/etc/resolv.conf", netCfg.ResolvConf())
	}
	bootTSC, mult, wallBoot, tscAux := machine.ClockParams()
	if img, err := vdso.Image(vdso.Params{BootTSC: bootTSC, Mult: mult, WallBootNs: wallBoot, RDTSCP: tscAux}); err == nil {
		k.Plat.VDSO = img
	} else {
		fmt.Fprintf(os.Stderr, "gosv: %v: apps get no vDSO\n", err)
	}
	p := k.NewProcess(fsys, k.Plat.Mem, k.Plat.Pager, k.Plat.Runner, consoleWriter(2))
	if err := mountFilesystems(p, int64(total)); err != nil {
		fmt.Fprintf(os.Stderr, "gosv: %v\n", err)
		return bootproto.ExitRunnerFailed
	}
	p.Strace = opts.Strace
	if opts.SyscallProfile {
		machine.EnableSyscallProfile()
		defer printSyscallProfile()
	}
	p.FDs.InstallAt(0, &linux.Console{TTY: false, Name: "/dev/console"}, syscall.O_RDONLY, false)
	p.FDs.InstallAt(1, &linux.Console{W: consoleWriter(1), TTY: false, Name: "/dev/console"}, syscall.O_WRONLY, false)
	p.FDs.InstallAt(2, &linux.Console{W: consoleWriter(2), TTY: false, Name: "/dev/console"}, syscall.O_WRONLY, false)

	env := []string{"PATH=" + DefaultPath, "HOME=/"}
	for _, kv := range opts.Env {
		k, _, _ := strings.Cut(kv, "=")
		env = setEnv(env, k, kv)
	}
	if opts.Cwd != "" {
		if err := fsys.Chdir(vfs.RootContext, vfs.Loc{}, opts.Cwd); err != nil {
			fmt.Fprintf(os.Stderr, "gosv: --cwd=%s: %v\n", opts.Cwd, err)
			return bootproto.ExitRunnerFailed
		}
	}
	exe, err := lookPath(fsys, argv[0], env)
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
	// A goroutine asleep on a timer keeps the kernel's runtime from
	// declaring a deadlock while every app thread waits (on a pipe nobody
	// writes, say): on Linux such an app hangs, and so it does here. (A
	// ticker nobody receives from does not count since Go 1.23.)
	go func() {
		for {
			time.Sleep(time.Hour)
		}
	}()
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
func lookPath(root *vfs.FS, name string, env []string) (string, error) {
	ctx := vfs.RootContext
	if strings.Contains(name, "/") {
		if _, err := root.Stat(ctx, vfs.Loc{}, name, 0); err != nil {
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
		if st, err := root.Stat(ctx, vfs.Loc{}, p, 0); err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
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

func addDefaultFiles(root *ramfs.FS) {
	fsys := vfs.NewFS(vfs.NewNamespace(root, "tmpfs", 0))
	ctx := vfs.RootContext
	// Mount points and the usual directories, unless the image has them.
	for _, d := range []struct {
		path string
		perm uint32
	}{{"/etc", 0o755}, {"/root", 0o700}, {"/proc", 0o555}, {"/sys", 0o555}, {"/dev", 0o755}} {
		fsys.Mkdir(ctx, vfs.Loc{}, d.path, d.perm)
	}
	for _, f := range defaultFiles {
		addFile(fsys, f.path, f.content)
	}
	// Every Linux system has /etc/mtab, as a link to the mount table.
	fsys.Symlink(ctx, "../proc/self/mounts", vfs.Loc{}, "/etc/mtab")
}

// mountFilesystems mounts the kernel's filesystems over the root from the
// initrd, as an init system would: /proc, /sys, /dev (devtmpfs) and
// /dev/shm (a tmpfs); and makes tmpfs, proc, sysfs and devtmpfs available
// to mount(2). memBytes sizes tmpfs instances (half of it by default).
func mountFilesystems(p *task.Process, memBytes int64) error {
	ns := p.FS.NS
	tmpfs := ramfs.NewTmpfs(memBytes)
	ns.RegisterType("tmpfs", tmpfs)
	ns.RegisterType("proc", func(string, uint64, string) (vfs.Filesystem, error) { return linux.ProcFS(p), nil })
	ns.RegisterType("sysfs", func(string, uint64, string) (vfs.Filesystem, error) { return linux.SysFS(p.K), nil })
	ns.RegisterType("devtmpfs", func(string, uint64, string) (vfs.Filesystem, error) {
		return devfs.New(consoleWriter(1).Write), nil
	})
	shm, err := tmpfs("tmpfs", 0, "")
	if err != nil {
		return err
	}
	const virt = vfs.MS_NOSUID | vfs.MS_NODEV | vfs.MS_NOEXEC
	for _, m := range []struct {
		fs     vfs.Filesystem
		source string
		target string
		flags  uint64
	}{
		{linux.ProcFS(p), "proc", "/proc", virt},
		{linux.SysFS(p.K), "sysfs", "/sys", virt},
		{devfs.New(consoleWriter(1).Write), "devtmpfs", "/dev", vfs.MS_NOSUID},
		{shm, "tmpfs", "/dev/shm", vfs.MS_NOSUID | vfs.MS_NODEV},
	} {
		if err := p.FS.MountFilesystem(vfs.RootContext, m.fs, m.source, m.target, m.flags); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.source, m.target, err)
		}
	}
	return nil
}

// addFile creates path with content unless the image has it already.
func addFile(fsys *vfs.FS, path, content string) {
	file, _, err := fsys.Open(vfs.RootContext, vfs.Loc{}, path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL, 0o644)
	if err != nil {
		return // the image has its own
	}
	file.Write([]byte(content))
	file.Close()
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
