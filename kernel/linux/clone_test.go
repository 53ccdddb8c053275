package linux

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gosv/gosv/kernel/machine"
	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// pthreadFlags is what glibc's pthread_create passes to clone.
const pthreadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SYSVSEM |
	unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID |
	unix.CLONE_CHILD_CLEARTID

// clCapture makes clone record the new tasks instead of running them.
func clCapture(t *testing.T) *[]*task.Task {
	var started []*task.Task
	old := task.StartTask
	task.StartTask = func(x *task.Task) { started = append(started, x) }
	t.Cleanup(func() { task.StartTask = old })
	return &started
}

func TestCloneThread(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	started := clCapture(t)
	c := task0.Ctx
	sgRegs(c, 0x7fff_0000)
	fpu := c.FPUImage()[:512]
	for i := range fpu {
		fpu[i] = byte(i)
	}
	task0.SetSigmask(1 << (unix.SIGUSR1 - 1))
	task0.SetAltStack(task.AltStack{Sp: 0x10000, Size: 8192}, c.RSP)
	ptid, ctid := buf+0x100, buf+0x200
	c.RAX = unix.SYS_CLONE
	c.RDI, c.RSI, c.RDX, c.R10, c.R8 = pthreadFlags, 0x6000_0000, uint64(ptid), uint64(ctid), 0x7777_0000
	saved := *c
	task0.Syscall()
	if c.RAX != 2 || len(*started) != 1 {
		t.Fatalf("clone = %d, %d tasks started", int64(c.RAX), len(*started))
	}
	child := (*started)[0]
	if child.TID != 2 || p.Task(2) != child {
		t.Errorf("child tid %d, registered %v", child.TID, p.Task(2) == child)
	}
	cc := child.Ctx
	if cc == c {
		t.Fatal("child shares the parent's context")
	}
	for i, r := range task.SigcontextRegs(cc) {
		want := *task.SigcontextRegs(&saved)[i]
		switch i {
		case 13: // rax
			want = 0
		case 15: // rsp
			want = 0x6000_0000
		}
		if *r != want {
			t.Errorf("child register %d = %#x, want %#x", i, *r, want)
		}
	}
	if cc.FSBase != 0x7777_0000 || cc.GSBase != saved.GSBase {
		t.Errorf("child fs %#x gs %#x", cc.FSBase, cc.GSBase)
	}
	if !bytes.Equal(cc.FPUImage()[:512], fpu) {
		t.Error("child FPU image differs from the parent's")
	}
	if cc.Kick != 0 {
		t.Error("child context is kicked")
	}
	if v, _ := task0.ReadU32(ptid); v != 2 {
		t.Errorf("parent tid word %d", v)
	}
	if v, _ := task0.ReadU32(ctid); v != 0 {
		t.Errorf("child tid word %d without CLONE_CHILD_SETTID", v)
	}
	if child.ClearTID != ctid || child.Sigmask != task0.Sigmask || child.Altstack.Size != 0 {
		t.Errorf("child clear_tid %#x mask %#x altstack %+v", child.ClearTID, child.Sigmask, child.Altstack)
	}
	// The parent is untouched.
	if c.RSP != saved.RSP || c.FSBase != saved.FSBase {
		t.Error("parent registers changed")
	}
	if r := call(child, unix.SYS_GETTID); r != 2 {
		t.Errorf("gettid in the child = %d", r)
	}

	// CLONE_CHILD_SETTID, no new stack: the child keeps the parent's.
	c.RSP = 0x7fff_0000
	if r := call(task0, unix.SYS_CLONE, task.CloneThread|unix.CLONE_CHILD_SETTID, 0, 0, ctid, 0); r != 3 {
		t.Fatalf("clone = %d", r)
	}
	if v, _ := task0.ReadU32(ctid); v != 3 || (*started)[1].Ctx.RSP != 0x7fff_0000 {
		t.Errorf("child tid word %d, child rsp %#x", v, (*started)[1].Ctx.RSP)
	}
}

func TestCloneRefused(t *testing.T) {
	_, task0, out, _ := newTestProcess(t)
	clCapture(t)
	task.CloneLogMu.Lock()
	clear(task.CloneLog) // logged once per kernel run
	task.CloneLogMu.Unlock()
	for _, c := range []struct {
		flags uintptr
		tls   uintptr
		want  int64
	}{
		{uintptr(unix.SIGCHLD), 0, sgErr(unix.ENOSYS)},                                    // fork
		{unix.CLONE_VM | unix.CLONE_VFORK | uintptr(unix.SIGCHLD), 0, sgErr(unix.ENOSYS)}, // posix_spawn
		{unix.CLONE_VM | unix.CLONE_FS, 0, sgErr(unix.ENOSYS)},
		{task.CloneThread | unix.CLONE_NEWNET, 0, sgErr(unix.ENOSYS)},
		{unix.CLONE_THREAD | unix.CLONE_VM, 0, sgErr(unix.EINVAL)},
		{unix.CLONE_SIGHAND, 0, sgErr(unix.EINVAL)},
		{task.CloneThread | unix.CLONE_SETTLS, task.AppLimit, sgErr(unix.EPERM)},
	} {
		if r := call(task0, unix.SYS_CLONE, c.flags, 0, 0, 0, c.tls); r != c.want {
			t.Errorf("clone(%#x) = %d, want %d", c.flags, r, c.want)
		}
	}
	if n := strings.Count(out.String(), "unsupported clone: fork"); n != 1 {
		t.Errorf("fork logged %d times:\n%s", n, out.String())
	}
	call(task0, unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0)
	if n := strings.Count(out.String(), "unsupported clone: fork"); n != 1 {
		t.Errorf("fork logged %d times after a second one", n)
	}
}

func TestClone3(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	started := clCapture(t)
	args := func(flags, childTID, parentTID, exitSignal, stack, stackSize, tls uint64) uintptr {
		var b [task.CloneArgsSizeMax]byte
		for i, v := range []uint64{flags, 0, childTID, parentTID, exitSignal, stack, stackSize, tls} {
			le.PutUint64(b[8*i:], v)
		}
		task0.CopyOut(buf, b[:])
		return buf
	}
	ptid, ctid := uint64(buf+0x100), uint64(buf+0x200)
	a := args(pthreadFlags, ctid, ptid, 0, 0x5000_0000, 0x10000, 0x7777_0000)
	if r := call(task0, unix.SYS_CLONE3, a, task.CloneArgsSizeVer0); r != 2 {
		t.Fatalf("clone3 = %d", r)
	}
	cc := (*started)[0].Ctx
	if cc.RSP != 0x5001_0000 || cc.FSBase != 0x7777_0000 || cc.RAX != 0 {
		t.Errorf("child rsp %#x fs %#x rax %#x", cc.RSP, cc.FSBase, cc.RAX)
	}
	if v, _ := task0.ReadU32(uintptr(ptid)); v != 2 || (*started)[0].ClearTID != uintptr(ctid) {
		t.Errorf("parent tid word %d, clear_tid %#x", v, (*started)[0].ClearTID)
	}
	for _, c := range []struct {
		name string
		args [7]uint64 // flags, child_tid, parent_tid, exit_signal, stack, stack_size, tls
		addr uintptr   // instead of the args, when not 0
		size uintptr
		want int64
	}{
		{"small", [7]uint64{pthreadFlags}, 0, 56, sgErr(unix.EINVAL)},
		{"huge", [7]uint64{pthreadFlags}, 0, 8192, sgErr(unix.E2BIG)},
		{"stack without size", [7]uint64{pthreadFlags, 0, 0, 0, 0x5000_0000, 0, 0}, 0, 64, sgErr(unix.EINVAL)},
		{"size without stack", [7]uint64{pthreadFlags, 0, 0, 0, 0, 4096, 0}, 0, 64, sgErr(unix.EINVAL)},
		{"CSIGNAL bits in flags", [7]uint64{pthreadFlags | uint64(unix.SIGCHLD)}, 0, 64, sgErr(unix.EINVAL)},
		{"bad exit signal", [7]uint64{pthreadFlags, 0, 0, 65}, 0, 64, sgErr(unix.EINVAL)},
		{"fork", [7]uint64{0, 0, 0, uint64(unix.SIGCHLD)}, 0, 64, sgErr(unix.ENOSYS)},
		{"bad pointer", [7]uint64{}, 0x10, 64, sgErr(unix.EFAULT)},
	} {
		a := args(c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5], c.args[6])
		if c.addr != 0 {
			a = c.addr
		}
		if r := call(task0, unix.SYS_CLONE3, a, c.size); r != c.want {
			t.Errorf("clone3 %s = %d, want %d", c.name, r, c.want)
		}
	}
	// Larger structs are fine when the extra bytes are zero.
	a = args(pthreadFlags&^unix.CLONE_PARENT_SETTID, 0, 0, 0, 0, 0, 0)
	task0.CopyOut(buf+task.CloneArgsSizeMax, make([]byte, 32))
	if r := call(task0, unix.SYS_CLONE3, a, task.CloneArgsSizeMax+32); r != 3 {
		t.Errorf("clone3 with a zero tail = %d", r)
	}
	task0.CopyOut(buf+task.CloneArgsSizeMax+8, []byte{1})
	if r := call(task0, unix.SYS_CLONE3, a, task.CloneArgsSizeMax+32); r != sgErr(unix.E2BIG) {
		t.Errorf("clone3 with a non-zero tail = %d, want -E2BIG", r)
	}
}

// A thread that exits clears and wakes its tid word; the process carries
// on until the last thread leaves.
func TestThreadExit(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	started := clCapture(t)
	ctid := buf + 0x200
	if r := call(task0, unix.SYS_CLONE, pthreadFlags&^unix.CLONE_SETTLS, 0, 0, ctid, 0); r != 2 {
		t.Fatalf("clone = %d", r)
	}
	task0.WriteU32(ctid, 2) // as CLONE_CHILD_SETTID would
	child := (*started)[0]
	joined := make(chan int64)
	go func() { joined <- call(task0, unix.SYS_FUTEX, ctid, task.FutexWaitOp, 2, 0) }()
	sgFutexWaiters(t, p, ctid)
	call(child, unix.SYS_EXIT, 7)
	if r := <-joined; r != 0 {
		t.Errorf("join: futex wait = %d", r)
	}
	if v, _ := task0.ReadU32(ctid); v != 0 {
		t.Errorf("tid word %d after exit", v)
	}
	if p.Exiting() || p.Task(2) != nil {
		t.Errorf("exiting %v, child still listed %v", p.Exiting(), p.Task(2) != nil)
	}
	if r := call(task0, unix.SYS_TKILL, 2, 0); r != sgErr(unix.ESRCH) {
		t.Errorf("tkill of the exited thread = %d", r)
	}
	// exit_group from a new thread ends the process, main thread included.
	call(task0, unix.SYS_CLONE, task.CloneThread, 0, 0, 0, 0)
	other := (*started)[1]
	blocked := make(chan int64)
	task0.WriteU32(buf+0x300, 0)
	go func() { blocked <- call(task0, unix.SYS_FUTEX, buf+0x300, task.FutexWaitOp, 0, 0) }()
	sgFutexWaiters(t, p, buf+0x300)
	call(other, unix.SYS_EXIT_GROUP, 3)
	if r := <-blocked; r != sgErr(unix.EINTR) {
		t.Errorf("main thread's wait = %d, want -EINTR", r)
	}
	if st := p.Wait(); st != 3 {
		t.Errorf("status %d", st)
	}
}

// Robust futexes of a thread that dies are marked FUTEX_OWNER_DIED and a
// waiter is woken.
func TestRobustList(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	started := clCapture(t)
	call(task0, unix.SYS_CLONE, task.CloneThread, 0, 0, 0, 0)
	child := (*started)[0]
	// head at buf: {next, futex_offset, list_op_pending}; one entry at
	// buf+0x40 whose futex word is at entry-8.
	head, entry := buf, buf+0x40
	task0.WriteU64(head, uint64(entry))
	task0.WriteU64(head+8, uint64(^uintptr(7))) // -8
	task0.WriteU64(head+16, 0)
	task0.WriteU64(entry, uint64(head))
	word := entry - 8
	task0.WriteU32(word, task.FutexWaiters|2)
	if r := call(child, unix.SYS_SET_ROBUST_LIST, head, 24); r != 0 {
		t.Fatalf("set_robust_list = %d", r)
	}
	if r := call(child, unix.SYS_SET_ROBUST_LIST, head, 16); r != sgErr(unix.EINVAL) {
		t.Errorf("set_robust_list len 16 = %d", r)
	}
	if r := call(task0, unix.SYS_GET_ROBUST_LIST, 2, buf+0x100, buf+0x108); r != 0 {
		t.Errorf("get_robust_list = %d", r)
	}
	if h, _ := task0.ReadU64(buf + 0x100); h != uint64(head) {
		t.Errorf("get_robust_list head %#x", h)
	}
	if n, _ := task0.ReadU64(buf + 0x108); n != 24 {
		t.Errorf("get_robust_list len %d", n)
	}
	if r := call(task0, unix.SYS_GET_ROBUST_LIST, 9, buf+0x100, buf+0x108); r != sgErr(unix.ESRCH) {
		t.Errorf("get_robust_list of no thread = %d", r)
	}
	woken := make(chan int64)
	go func() { woken <- call(task0, unix.SYS_FUTEX, word, task.FutexWaitOp, task.FutexWaiters|2, 0) }()
	sgFutexWaiters(t, task0.P, word)
	call(child, unix.SYS_EXIT, 0)
	select {
	case r := <-woken:
		if r != 0 {
			t.Errorf("waiter = %d", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiter not woken")
	}
	if v, _ := task0.ReadU32(word); v != task.FutexWaiters|task.FutexOwnerDied {
		t.Errorf("futex word %#x, want FUTEX_WAITERS|FUTEX_OWNER_DIED", v)
	}
}

func TestSchedCalls(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	if r := call(task0, unix.SYS_SCHED_GETAFFINITY, 0, 128, buf); r != 8 {
		t.Errorf("sched_getaffinity = %d, want 8", r)
	}
	if m, _ := task0.ReadU64(buf); m == 0 || m&1 == 0 {
		t.Errorf("affinity mask %#x", m)
	}
	for _, c := range []struct {
		nr   int
		args []uintptr
		want int64
	}{
		{unix.SYS_SCHED_GETAFFINITY, []uintptr{0, 4, buf}, sgErr(unix.EINVAL)},
		{unix.SYS_SCHED_GETAFFINITY, []uintptr{0, 12, buf}, sgErr(unix.EINVAL)},
		{unix.SYS_SCHED_GETAFFINITY, []uintptr{5, 8, buf}, sgErr(unix.ESRCH)},
		{unix.SYS_SCHED_GETAFFINITY, []uintptr{1, 8, 0x10}, sgErr(unix.EFAULT)},
		{unix.SYS_SCHED_SETAFFINITY, []uintptr{0, 8, buf}, 0},
		{unix.SYS_SCHED_GETSCHEDULER, []uintptr{0}, 0},
		{unix.SYS_SCHED_GETSCHEDULER, []uintptr{3}, sgErr(unix.ESRCH)},
		{unix.SYS_SCHED_GETPARAM, []uintptr{0, buf + 64}, 0},
		{unix.SYS_SCHED_GET_PRIORITY_MAX, []uintptr{schedOther}, 0},
		{unix.SYS_SCHED_GET_PRIORITY_MAX, []uintptr{schedFIFO}, 99},
		{unix.SYS_SCHED_GET_PRIORITY_MIN, []uintptr{schedRR}, 1},
		{unix.SYS_SCHED_GET_PRIORITY_MIN, []uintptr{42}, sgErr(unix.EINVAL)},
		{unix.SYS_SCHED_YIELD, nil, 0},
	} {
		if r := call(task0, c.nr, c.args...); r != c.want {
			t.Errorf("%s%#x = %d, want %d", SyscallName(uintptr(c.nr)), c.args, r, c.want)
		}
	}
	task0.WriteU32(buf+64, 0)
	if r := call(task0, unix.SYS_SCHED_SETSCHEDULER, 0, schedOther, buf+64); r != 0 {
		t.Errorf("sched_setscheduler(SCHED_OTHER) = %d", r)
	}
	task0.WriteU32(buf+64, 10)
	if r := call(task0, unix.SYS_SCHED_SETSCHEDULER, 0, schedFIFO, buf+64); r != sgErr(unix.EPERM) {
		t.Errorf("sched_setscheduler(SCHED_FIFO) = %d, want -EPERM", r)
	}
	task0.WriteU64(buf, 0)
	if r := call(task0, unix.SYS_SCHED_SETAFFINITY, 0, 8, buf); r != sgErr(unix.EINVAL) {
		t.Errorf("sched_setaffinity(empty) = %d, want -EINVAL", r)
	}
}

// A thread started by clone runs Loop on its own goroutine: its first
// return to the app has RAX = 0 at the parent's RIP.
func TestCloneChildRuns(t *testing.T) {
	p, task0, _, _ := newTestProcess(t)
	seen := make(chan machine.AppContext, 1)
	p.Runner = &scriptRunner{steps: []func(c *machine.AppContext){
		func(c *machine.AppContext) { seen <- *c; sgSyscall(c, unix.SYS_EXIT, 0) },
	}}
	task0.Ctx.RIP = sgRIP
	if r := call(task0, unix.SYS_CLONE, task.CloneThread, 0x5000_0000, 0, 0, 0); r != 2 {
		t.Fatalf("clone = %d", r)
	}
	select {
	case c := <-seen:
		if c.RAX != 0 || c.RIP != sgRIP || c.RSP != 0x5000_0000 {
			t.Errorf("child entered the app with rax %#x rip %#x rsp %#x", c.RAX, c.RIP, c.RSP)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("child never ran")
	}
	for deadline := time.Now().Add(10 * time.Second); p.Task(2) != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("child did not exit")
		}
	}
}
