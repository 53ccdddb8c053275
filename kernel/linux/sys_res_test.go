package linux

import (
	"testing"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

func resGet(task0 *task.Task, res int, buf uintptr) (int64, task.Rlimit) {
	r := call(task0, unix.SYS_GETRLIMIT, uintptr(res), buf)
	cur, _ := task0.ReadU64(buf)
	max, _ := task0.ReadU64(buf + 8)
	return r, task.Rlimit{Cur: cur, Max: max}
}

func TestRlimitDefaults(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	for _, c := range []struct {
		res  int
		want task.Rlimit
	}{
		{unix.RLIMIT_STACK, task.Rlimit{Cur: 8 << 20, Max: task.RlimInfinity}},
		{unix.RLIMIT_NOFILE, task.Rlimit{Cur: 1024, Max: 1024}},
		{unix.RLIMIT_AS, task.Rlimit{Cur: task.RlimInfinity, Max: task.RlimInfinity}},
		{unix.RLIMIT_DATA, task.Rlimit{Cur: task.RlimInfinity, Max: task.RlimInfinity}},
		{unix.RLIMIT_CORE, task.Rlimit{Cur: 0, Max: task.RlimInfinity}},
	} {
		if r, got := resGet(task0, c.res, buf); r != 0 || got != c.want {
			t.Errorf("getrlimit(%d) = %d %+v, want %+v", c.res, r, got, c.want)
		}
	}
	if r := call(task0, unix.SYS_GETRLIMIT, task.RlimCount, buf); r != evErr(unix.EINVAL) {
		t.Errorf("getrlimit(RLIM_NLIMITS) = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_GETRLIMIT, unix.RLIMIT_NOFILE, 0x10); r != evErr(unix.EFAULT) {
		t.Errorf("getrlimit to a bad pointer = %d, want -EFAULT", r)
	}
}

func TestRlimitRoundTrips(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	newp, oldp := buf+0x100, buf+0x200
	set := func(cur, max uint64) {
		task0.WriteU64(newp, cur)
		task0.WriteU64(newp+8, max)
	}
	// What the Go runtime does at start: raise the soft NOFILE to the hard one.
	set(512, 1024)
	if r := call(task0, unix.SYS_SETRLIMIT, unix.RLIMIT_NOFILE, newp); r != 0 {
		t.Fatalf("setrlimit = %d", r)
	}
	if _, got := resGet(task0, unix.RLIMIT_NOFILE, buf); got != (task.Rlimit{Cur: 512, Max: 1024}) {
		t.Errorf("NOFILE after setrlimit %+v", got)
	}
	if p.FDs.Limit != 512 {
		t.Errorf("fd table limit %d, want 512", p.FDs.Limit)
	}
	set(4096, 4096)
	if r := call(task0, unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, newp, oldp); r != 0 {
		t.Fatalf("prlimit64 = %d", r)
	}
	if cur, _ := task0.ReadU64(oldp); cur != 512 {
		t.Errorf("prlimit64 old cur %d, want 512", cur)
	}
	if _, got := resGet(task0, unix.RLIMIT_NOFILE, buf); got != (task.Rlimit{Cur: 4096, Max: 4096}) {
		t.Errorf("NOFILE after prlimit64 %+v", got)
	}
	if fd, err := p.FDs.Install(evPlainFile{}, 0, false, 3000); err != nil || fd != 3000 {
		t.Errorf("install at 3000 under a 4096 limit: %d %v", fd, err)
	}
	set(1, 0)
	if r := call(task0, unix.SYS_SETRLIMIT, unix.RLIMIT_NOFILE, newp); r != evErr(unix.EINVAL) {
		t.Errorf("setrlimit cur > max = %d, want -EINVAL", r)
	}
	set(1<<21, 1<<21)
	if r := call(task0, unix.SYS_SETRLIMIT, unix.RLIMIT_NOFILE, newp); r != evErr(unix.EPERM) {
		t.Errorf("NOFILE above nr_open = %d, want -EPERM", r)
	}
	set(16<<20, task.RlimInfinity)
	if r := call(task0, unix.SYS_PRLIMIT64, 1, unix.RLIMIT_STACK, newp, 0); r != 0 {
		t.Errorf("prlimit64(pid 1, STACK) = %d", r)
	}
	if r := call(task0, unix.SYS_PRLIMIT64, 0, unix.RLIMIT_STACK, 0, oldp); r != 0 {
		t.Errorf("prlimit64 get = %d", r)
	}
	if cur, _ := task0.ReadU64(oldp); cur != 16<<20 {
		t.Errorf("STACK cur %d, want 16 MiB", cur)
	}
	if r := call(task0, unix.SYS_PRLIMIT64, 42, unix.RLIMIT_STACK, 0, oldp); r != evErr(unix.ESRCH) {
		t.Errorf("prlimit64 of pid 42 = %d, want -ESRCH", r)
	}
	if r := call(task0, unix.SYS_PRLIMIT64, 0, 99, 0, oldp); r != evErr(unix.EINVAL) {
		t.Errorf("prlimit64 of resource 99 = %d, want -EINVAL", r)
	}
	// An unprivileged process cannot raise a hard limit.
	call(task0, unix.SYS_SETRESUID, 1000, 1000, 1000)
	set(8192, 8192)
	if r := call(task0, unix.SYS_SETRLIMIT, unix.RLIMIT_NOFILE, newp); r != evErr(unix.EPERM) {
		t.Errorf("raising a hard limit as uid 1000 = %d, want -EPERM", r)
	}
}

func TestSysinfoTimesRusage(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	task0.P.K.Plat.MemInfo = func() task.MemStats { return task.MemStats{Total: 256 << 20, Free: 100 << 20} }
	task0.P.K.Plat.Nanotime = func() int64 { return 90e9 + 1 }
	if r := call(task0, unix.SYS_SYSINFO, buf); r != 0 {
		t.Fatalf("sysinfo = %d", r)
	}
	var b [112]byte
	task0.CopyIn(b[:], buf)
	if up := le.Uint64(b[0:]); up != 91 {
		t.Errorf("uptime %d, want 91 (rounded up)", up)
	}
	if tot, free := le.Uint64(b[32:]), le.Uint64(b[40:]); tot != 256<<20 || free != 100<<20 {
		t.Errorf("totalram %d freeram %d", tot, free)
	}
	if procs, unit := le.Uint16(b[80:]), le.Uint32(b[104:]); procs != 1 || unit != 1 {
		t.Errorf("procs %d mem_unit %d", procs, unit)
	}
	if r := call(task0, unix.SYS_TIMES, buf); r != 9000 {
		t.Errorf("times = %d, want 9000 ticks", r)
	}
	if r := call(task0, unix.SYS_TIMES, 0); r != 9000 {
		t.Errorf("times(NULL) = %d", r)
	}
	if r := call(task0, unix.SYS_GETRUSAGE, uintptr(unix.RUSAGE_SELF), buf); r != 0 {
		t.Errorf("getrusage = %d", r)
	}
	if sec, _ := task0.ReadU64(buf); sec != 90 {
		t.Errorf("ru_utime %d s, want 90", sec)
	}
	if r := call(task0, unix.SYS_GETRUSAGE, 5, buf); r != evErr(unix.EINVAL) {
		t.Errorf("getrusage(5) = %d, want -EINVAL", r)
	}
}

func TestPriorities(t *testing.T) {
	_, task0, _, _ := newTestProcess(t)
	if r := call(task0, unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 0); r != 20 {
		t.Errorf("getpriority = %d, want 20 (nice 0)", r)
	}
	if r := call(task0, unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 5); r != 0 {
		t.Errorf("setpriority = %d", r)
	}
	if r := call(task0, unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 1); r != 15 {
		t.Errorf("getpriority after nice 5 = %d, want 15", r)
	}
	if r := call(task0, unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 77); r != evErr(unix.ESRCH) {
		t.Errorf("getpriority(pid 77) = %d, want -ESRCH", r)
	}
	if r := call(task0, unix.SYS_GETPRIORITY, 9, 0); r != evErr(unix.EINVAL) {
		t.Errorf("getpriority(which 9) = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_IOPRIO_SET, 1, 0, 2<<13|4); r != 0 {
		t.Errorf("ioprio_set(BE 4) = %d", r)
	}
	if r := call(task0, unix.SYS_IOPRIO_GET, 1, 0); r != 2<<13|4 {
		t.Errorf("ioprio_get = %#x", r)
	}
	if r := call(task0, unix.SYS_IOPRIO_SET, 1, 0, 2<<13|9); r != evErr(unix.EINVAL) {
		t.Errorf("ioprio_set(BE 9) = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_MLOCKALL, unix.MCL_CURRENT|unix.MCL_FUTURE); r != 0 {
		t.Errorf("mlockall = %d", r)
	}
	if r := call(task0, unix.SYS_MLOCKALL, 0); r != evErr(unix.EINVAL) {
		t.Errorf("mlockall(0) = %d, want -EINVAL", r)
	}
}

// msync checks alignment, flags and that the range is mapped.
func TestMsync(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	for _, c := range []struct {
		addr, n, flags uintptr
		want           int64
	}{
		{buf, 4096, unix.MS_SYNC, 0},
		{buf, 100, unix.MS_ASYNC, 0},
		{buf + 1, 4096, unix.MS_SYNC, -int64(unix.EINVAL)},
		{buf, 4096, unix.MS_SYNC | unix.MS_ASYNC, -int64(unix.EINVAL)},
		{buf, 4096, 0x100, -int64(unix.EINVAL)},
		{0x1000, 4096, unix.MS_SYNC, -int64(unix.ENOMEM)},
		{buf, 1 << 30, unix.MS_SYNC, -int64(unix.ENOMEM)},
	} {
		if r := call(task0, unix.SYS_MSYNC, c.addr, c.n, c.flags); r != c.want {
			t.Errorf("msync(%#x, %d, %#x) = %d, want %d", c.addr, c.n, c.flags, r, c.want)
		}
	}
}

// fcntl's F_NOTIFY, F_GET_SEALS and F_ADD_SEALS answer as Linux's tmpfs.
func TestFcntlNotifyAndSeals(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	task0.CopyOut(buf, []byte("/\x00/f\x00"))
	dir := call(task0, unix.SYS_OPEN, buf, unix.O_RDONLY|unix.O_DIRECTORY)
	file := call(task0, unix.SYS_OPEN, buf+2, unix.O_CREAT|unix.O_RDWR, 0o644)
	call(task0, unix.SYS_PIPE2, buf+16, 0)
	pipe, _ := task0.ReadU32(buf + 16)
	for _, c := range []struct {
		fd, cmd, arg uintptr
		want         int64
	}{
		{uintptr(dir), fNotify, 0, 0},
		{uintptr(file), fNotify, 0, -int64(unix.ENOTDIR)},
		{uintptr(file), fGetSeals, 0, fSealSeal},
		{uintptr(file), fAddSeals, 1, -int64(unix.EPERM)},
		{uintptr(pipe), fGetSeals, 0, -int64(unix.EINVAL)},
	} {
		if r := call(task0, unix.SYS_FCNTL, c.fd, c.cmd, c.arg); r != c.want {
			t.Errorf("fcntl(%d, %d) = %d, want %d", c.fd, c.cmd, r, c.want)
		}
	}
}
