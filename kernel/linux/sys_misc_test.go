package linux

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

func miscGetName(task0 *task.Task, buf uintptr) (int64, string) {
	r := call(task0, unix.SYS_PRCTL, unix.PR_GET_NAME, buf)
	var b [16]byte
	task0.CopyIn(b[:], buf)
	return r, string(bytes.TrimRight(b[:], "\x00"))
}

func TestPrctlNames(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	p.ExePath = "/usr/bin/a-very-long-program-name"
	if r, name := miscGetName(task0, buf); r != 0 || name != "a-very-long-pro" {
		t.Errorf("default name %d %q, want the executable's base name cut to 15 bytes", r, name)
	}
	task0.CopyOut(buf+0x100, []byte("worker\x00"))
	if r := call(task0, unix.SYS_PRCTL, unix.PR_SET_NAME, buf+0x100); r != 0 {
		t.Fatalf("PR_SET_NAME = %d", r)
	}
	if _, name := miscGetName(task0, buf); name != "worker" {
		t.Errorf("name %q, want worker", name)
	}
	// Names are per thread, truncated to 15 bytes without needing a NUL.
	other := p.NewTask()
	task0.CopyOut(buf+0x200, []byte("0123456789abcdefghij"))
	call(other, unix.SYS_PRCTL, unix.PR_SET_NAME, buf+0x200)
	if _, name := miscGetName(other, buf); name != "0123456789abcde" {
		t.Errorf("long name %q", name)
	}
	if Comm(task0) != "worker" || Comm(other) != "0123456789abcde" {
		t.Errorf("Comm %q %q", Comm(task0), Comm(other))
	}
	if r := call(task0, unix.SYS_PRCTL, unix.PR_SET_NAME, 0x10); r != evErr(unix.EFAULT) {
		t.Errorf("PR_SET_NAME from a bad pointer = %d, want -EFAULT", r)
	}
}

func TestPrctlOptions(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	for _, c := range []struct {
		name string
		args []uintptr
		want int64
	}{
		{"get dumpable", []uintptr{unix.PR_GET_DUMPABLE}, 1},
		{"set dumpable 0", []uintptr{unix.PR_SET_DUMPABLE, 0}, 0},
		{"get dumpable after", []uintptr{unix.PR_GET_DUMPABLE}, 0},
		{"set dumpable 2", []uintptr{unix.PR_SET_DUMPABLE, 2}, evErr(unix.EINVAL)},
		{"set pdeathsig", []uintptr{unix.PR_SET_PDEATHSIG, uintptr(unix.SIGTERM)}, 0},
		{"set pdeathsig 65", []uintptr{unix.PR_SET_PDEATHSIG, 65}, evErr(unix.EINVAL)},
		{"no_new_privs", []uintptr{unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0}, 0},
		{"get no_new_privs", []uintptr{unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0}, 1},
		{"capbset read", []uintptr{unix.PR_CAPBSET_READ, unix.CAP_SYS_ADMIN}, 1},
		{"capbset read 41", []uintptr{unix.PR_CAPBSET_READ, 41}, evErr(unix.EINVAL)},
		{"timerslack", []uintptr{unix.PR_GET_TIMERSLACK}, 50000},
		{"set vma", []uintptr{unix.PR_SET_VMA, 0, 0x1000, 0x1000, 0}, evErr(unix.EINVAL)},
		{"seccomp", []uintptr{unix.PR_GET_SECCOMP}, 0},
		{"unknown", []uintptr{1000}, evErr(unix.EINVAL)},
	} {
		if r := call(task0, unix.SYS_PRCTL, c.args...); r != c.want {
			t.Errorf("prctl %s = %d, want %d", c.name, r, c.want)
		}
	}
	call(task0, unix.SYS_PRCTL, unix.PR_GET_PDEATHSIG, buf)
	if sig, _ := task0.ReadU32(buf); sig != uint32(unix.SIGTERM) {
		t.Errorf("PR_GET_PDEATHSIG = %d", sig)
	}
	task0.ClearTID = 0x1234
	call(task0, unix.SYS_PRCTL, unix.PR_GET_TID_ADDRESS, buf)
	if a, _ := task0.ReadU64(buf); a != 0x1234 {
		t.Errorf("PR_GET_TID_ADDRESS = %#x", a)
	}
}

func TestCredentials(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	res := func(nr int) [3]uint32 {
		call(task0, nr, buf, buf+4, buf+8)
		var out [3]uint32
		for i := range out {
			out[i], _ = task0.ReadU32(buf + uintptr(4*i))
		}
		return out
	}
	for _, nr := range []int{unix.SYS_GETUID, unix.SYS_GETEUID, unix.SYS_GETGID, unix.SYS_GETEGID} {
		if r := call(task0, nr); r != 0 {
			t.Errorf("%s = %d, want 0 (root)", SyscallName(uintptr(nr)), r)
		}
	}
	if r := call(task0, unix.SYS_SETRESGID, 100, 100, 100); r != 0 {
		t.Errorf("setresgid = %d", r)
	}
	if got := res(unix.SYS_GETRESGID); got != [3]uint32{100, 100, 100} {
		t.Errorf("getresgid %v", got)
	}
	// Keep uid 0 saved: the effective uid can come back.
	if r := call(task0, unix.SYS_SETRESUID, 1000, 1000, 0); r != 0 {
		t.Fatalf("setresuid = %d", r)
	}
	if r := call(task0, unix.SYS_GETEUID); r != 1000 {
		t.Errorf("geteuid = %d", r)
	}
	if r := call(task0, unix.SYS_SETGROUPS, 0, 0); r != evErr(unix.EPERM) {
		t.Errorf("setgroups as uid 1000 = %d, want -EPERM", r)
	}
	if r := call(task0, unix.SYS_SETUID, 0); r != 0 {
		t.Errorf("setuid(0) back to the saved uid = %d", r)
	}
	if got := res(unix.SYS_GETRESUID); got != [3]uint32{1000, 0, 0} {
		t.Errorf("getresuid %v, want [1000 0 0]", got)
	}
	// As root again, setuid sets all three; then there is no way back.
	if r := call(task0, unix.SYS_SETUID, 2000); r != 0 {
		t.Errorf("setuid(2000) = %d", r)
	}
	if got := res(unix.SYS_GETRESUID); got != [3]uint32{2000, 2000, 2000} {
		t.Errorf("getresuid %v", got)
	}
	if r := call(task0, unix.SYS_SETUID, 0); r != evErr(unix.EPERM) {
		t.Errorf("setuid(0) without privilege = %d, want -EPERM", r)
	}
	if r := call(task0, unix.SYS_SETUID, ^uintptr(0)); r != evErr(unix.EINVAL) {
		t.Errorf("setuid(-1) = %d, want -EINVAL", r)
	}
	// capget: no capabilities left.
	task0.WriteU32(buf, capVersion3)
	task0.WriteU32(buf+4, 0)
	if r := call(task0, unix.SYS_CAPGET, buf, buf+0x100); r != 0 {
		t.Errorf("capget = %d", r)
	}
	if eff, _ := task0.ReadU32(buf + 0x100); eff != 0 {
		t.Errorf("effective caps %#x after dropping root", eff)
	}
}

func TestCapgetRoot(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	task0.WriteU32(buf, capVersion3)
	task0.WriteU32(buf+4, 0)
	if r := call(task0, unix.SYS_CAPGET, buf, buf+0x100); r != 0 {
		t.Fatalf("capget = %d", r)
	}
	var d [6]uint32
	for i := range d {
		d[i], _ = task0.ReadU32(buf + 0x100 + uintptr(4*i))
	}
	if d != [6]uint32{0xffffffff, 0xffffffff, 0, 0x1ff, 0x1ff, 0} {
		t.Errorf("root capabilities %#x", d)
	}
	task0.WriteU32(buf, 0x1234)
	if r := call(task0, unix.SYS_CAPGET, buf, 0); r != 0 {
		t.Errorf("capget probe = %d, want 0", r)
	}
	if v, _ := task0.ReadU32(buf); v != capVersion3 {
		t.Errorf("probed version %#x", v)
	}
	task0.WriteU32(buf, 0x1234)
	if r := call(task0, unix.SYS_CAPGET, buf, buf+0x100); r != evErr(unix.EINVAL) {
		t.Errorf("capget with a bad version = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_GETGROUPS, 0, 0); r != 0 {
		t.Errorf("getgroups(0) = %d", r)
	}
	for i, g := range []uint32{0, 10, 27} {
		task0.WriteU32(buf+0x200+uintptr(4*i), g)
	}
	if r := call(task0, unix.SYS_SETGROUPS, 3, buf+0x200); r != 0 {
		t.Errorf("setgroups = %d", r)
	}
	if r := call(task0, unix.SYS_GETGROUPS, 1, buf+0x300); r != evErr(unix.EINVAL) {
		t.Errorf("getgroups into a short list = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_GETGROUPS, 8, buf+0x300); r != 3 {
		t.Errorf("getgroups = %d, want 3", r)
	}
	if g, _ := task0.ReadU32(buf + 0x308); g != 27 {
		t.Errorf("third group %d", g)
	}
}

func TestMiscIdentity(t *testing.T) {
	_, task0, out, buf := newTestProcess(t)
	unknownMu.Lock()
	delete(unknownSeen, unix.SYS_FORK) // logged once per kernel: forget earlier tests
	unknownMu.Unlock()
	for _, c := range []struct {
		name string
		nr   int
		args []uintptr
		want int64
	}{
		{"getpgrp", unix.SYS_GETPGRP, nil, 1},
		{"getpgid", unix.SYS_GETPGID, []uintptr{0}, 1},
		{"getpgid 5", unix.SYS_GETPGID, []uintptr{5}, evErr(unix.ESRCH)},
		{"getsid", unix.SYS_GETSID, []uintptr{1}, 1},
		{"setsid", unix.SYS_SETSID, nil, evErr(unix.EPERM)},
		{"setpgid", unix.SYS_SETPGID, []uintptr{0, 0}, evErr(unix.EPERM)},
		{"setpgid -1", unix.SYS_SETPGID, []uintptr{0, ^uintptr(0)}, evErr(unix.EINVAL)},
		{"personality", unix.SYS_PERSONALITY, []uintptr{0xffffffff}, 0},
		{"personality set", unix.SYS_PERSONALITY, []uintptr{0x0040000}, 0},
		{"personality get", unix.SYS_PERSONALITY, []uintptr{0xffffffff}, 0x0040000},
		{"membarrier query", unix.SYS_MEMBARRIER, []uintptr{0, 0}, mbSupported},
		{"membarrier private unregistered", unix.SYS_MEMBARRIER, []uintptr{mbPrivateExpedited, 0}, evErr(unix.EPERM)},
		{"membarrier register", unix.SYS_MEMBARRIER, []uintptr{mbRegisterPrivateExpedited, 0}, 0},
		{"membarrier private", unix.SYS_MEMBARRIER, []uintptr{mbPrivateExpedited, 0}, 0},
		{"membarrier flags", unix.SYS_MEMBARRIER, []uintptr{0, 1}, evErr(unix.EINVAL)},
		{"getrandom flags", unix.SYS_GETRANDOM, []uintptr{buf, 16, 8}, evErr(unix.EINVAL)},
		{"getrandom random+insecure", unix.SYS_GETRANDOM, []uintptr{buf, 16, unix.GRND_RANDOM | unix.GRND_INSECURE}, evErr(unix.EINVAL)},
		{"getrandom nonblock", unix.SYS_GETRANDOM, []uintptr{buf, 16, unix.GRND_NONBLOCK}, 16},
		{"getrandom partial", unix.SYS_GETRANDOM, []uintptr{buf + 64<<10 - 10, 100, 0}, 10},
		{"getrandom fault", unix.SYS_GETRANDOM, []uintptr{0x10, 100, 0}, evErr(unix.EFAULT)},
		{"getcpu", unix.SYS_GETCPU, []uintptr{buf, buf + 4, 0}, 0},
		{"ioprio_get", unix.SYS_IOPRIO_GET, []uintptr{1, 0}, 0},
		{"fork", unix.SYS_FORK, nil, evErr(unix.ENOSYS)},
		{"fork again", unix.SYS_FORK, nil, evErr(unix.ENOSYS)},
		{"execve", unix.SYS_EXECVE, []uintptr{buf, 0, 0}, evErr(unix.ENOSYS)},
	} {
		if r := call(task0, c.nr, c.args...); r != c.want {
			t.Errorf("%s = %d, want %d", c.name, r, c.want)
		}
	}
	if n := strings.Count(out.String(), "unsupported syscall fork"); n != 1 {
		t.Errorf("fork logged %d times, want once:\n%s", n, out.String())
	}
}
