package linux

import (
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Signal syscalls: rt_sigaction(2), rt_sigprocmask(2), rt_sigpending(2),
// sigaltstack(2), kill(2), tgkill(2), tkill(2), rt_sigqueueinfo(2),
// rt_tgsigqueueinfo(2), rt_sigreturn(2), rt_sigsuspend(2), pause(2),
// rt_sigtimedwait(2). Signals reach only the app itself (pid 1).
func init() {
	register(unix.SYS_RT_SIGACTION, "rt_sigaction", sysRtSigaction)
	register(unix.SYS_RT_SIGPROCMASK, "rt_sigprocmask", sysRtSigprocmask)
	register(unix.SYS_RT_SIGPENDING, "rt_sigpending", sysRtSigpending)
	register(unix.SYS_SIGALTSTACK, "sigaltstack", sysSigaltstack)
	register(unix.SYS_KILL, "kill", sysKill)
	register(unix.SYS_TGKILL, "tgkill", sysTgkill)
	register(unix.SYS_TKILL, "tkill", sysTkill)
	register(unix.SYS_RT_SIGQUEUEINFO, "rt_sigqueueinfo", sysRtSigqueueinfo)
	register(unix.SYS_RT_TGSIGQUEUEINFO, "rt_tgsigqueueinfo", sysRtTgsigqueueinfo)
	register(unix.SYS_RT_SIGRETURN, "rt_sigreturn", sysRtSigreturn)
	register(unix.SYS_RT_SIGSUSPEND, "rt_sigsuspend", sysRtSigsuspend)
	register(unix.SYS_PAUSE, "pause", sysPause)
	register(unix.SYS_RT_SIGTIMEDWAIT, "rt_sigtimedwait", sysRtSigtimedwait)
}

// sigsetSize is the only sigsetsize the rt_sig* calls accept.
const sigsetSize = 8

// validSignal reports whether sig is a signal number (1..64).
func validSignal(sig int) bool { return sig >= 1 && sig <= task.NumSignals }

// rt_sigaction(sig, act, oact, sigsetsize).
func sysRtSigaction(t *task.Task, a task.Args) (uintptr, error) {
	sig := int(int32(a[0]))
	if a[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	var act task.Sigaction
	if a[1] != 0 {
		var b [32]byte
		if err := t.CopyIn(b[:], a[1]); err != nil {
			return 0, err
		}
		act = task.Sigaction{Handler: le.Uint64(b[0:]), Flags: le.Uint64(b[8:]) & task.SaKnown,
			Restorer: le.Uint64(b[16:]), Mask: le.Uint64(b[24:]) &^ task.Unblockable}
	}
	if !validSignal(sig) || a[1] != 0 && task.SigBit(sig)&task.Unblockable != 0 {
		return 0, unix.EINVAL
	}
	p := t.P
	s := &p.Sig
	s.Mu.Lock()
	old := s.Actions[sig]
	if a[1] != 0 {
		s.Actions[sig] = act
		if s.IgnoredLocked(sig) {
			// Pending instances of a signal now ignored are discarded,
			// blocked or not.
			s.Pending.Drop(task.SigBit(sig))
			for _, x := range p.TaskList() {
				x.Pending.Drop(task.SigBit(sig))
			}
		}
	}
	s.Mu.Unlock()
	if a[2] != 0 {
		var b [32]byte
		le.PutUint64(b[0:], old.Handler)
		le.PutUint64(b[8:], old.Flags)
		le.PutUint64(b[16:], old.Restorer)
		le.PutUint64(b[24:], old.Mask)
		if err := t.CopyOut(a[2], b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// rt_sigprocmask(how, set, oset, sigsetsize).
func sysRtSigprocmask(t *task.Task, a task.Args) (uintptr, error) {
	if a[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	old := t.Sigmask
	if a[1] != 0 {
		set, err := t.ReadU64(a[1])
		if err != nil {
			return 0, err
		}
		switch int(int32(a[0])) {
		case unix.SIG_BLOCK:
			t.SetSigmask(old | set)
		case unix.SIG_UNBLOCK:
			t.SetSigmask(old &^ set)
		case unix.SIG_SETMASK:
			t.SetSigmask(set)
		default:
			return 0, unix.EINVAL
		}
	}
	if a[2] != 0 {
		if err := t.WriteU64(a[2], old); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// rt_sigpending(set, sigsetsize): the pending signals the thread blocks.
func sysRtSigpending(t *task.Task, a task.Args) (uintptr, error) {
	if a[1] > sigsetSize {
		return 0, unix.EINVAL
	}
	s := &t.P.Sig
	s.Mu.Lock()
	set := (t.Pending.Mask | s.Pending.Mask) & t.Sigmask
	s.Mu.Unlock()
	var b [8]byte
	le.PutUint64(b[:], set)
	return 0, t.CopyOut(a[0], b[:a[1]])
}

// sigaltstack(ss, oss): stack_t {void *ss_sp; int ss_flags; size_t ss_size}.
func sysSigaltstack(t *task.Task, a task.Args) (uintptr, error) {
	sp := t.Ctx.RSP
	var b [24]byte
	var ss task.AltStack
	if a[0] != 0 {
		if err := t.CopyIn(b[:], a[0]); err != nil {
			return 0, err
		}
		ss = task.AltStack{Sp: le.Uint64(b[0:]), Flags: le.Uint32(b[8:]), Size: le.Uint64(b[16:])}
	}
	s := &t.P.Sig
	s.Mu.Lock()
	old := t.Altstack
	s.Mu.Unlock()
	if a[0] != 0 {
		if err := t.SetAltStack(ss, sp); err != nil {
			return 0, err
		}
	}
	if a[1] != 0 {
		clear(b[:])
		le.PutUint64(b[0:], old.Sp)
		le.PutUint32(b[8:], old.FlagsAt(sp)|old.Flags&task.SsAutodisarm)
		le.PutUint64(b[16:], old.Size)
		if err := t.CopyOut(a[1], b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// kill(pid, sig): pid 1 (the app) and 0 (its process group) reach the
// app. -1 means every process except init and the caller, which here is
// nobody: ESRCH, as for any other pid or process group (the app's group,
// 1, cannot be named as -1).
func sysKill(t *task.Task, a task.Args) (uintptr, error) {
	pid, sig := int(int32(a[0])), int(int32(a[1]))
	if sig < 0 || sig > task.NumSignals {
		return 0, unix.EINVAL
	}
	if pid != t.P.Pid() && pid != 0 {
		return 0, unix.ESRCH
	}
	if sig != 0 {
		t.P.SendSignal(nil, task.Siginfo{Signo: int32(sig), Code: task.SiUser, Pid: int32(t.P.Pid())})
	}
	return 0, nil
}

// tgkill(tgid, tid, sig).
func sysTgkill(t *task.Task, a task.Args) (uintptr, error) {
	tgid, tid, sig := int(int32(a[0])), int(int32(a[1])), int(int32(a[2]))
	if tgid <= 0 || tid <= 0 || sig < 0 || sig > task.NumSignals {
		return 0, unix.EINVAL
	}
	if tgid != t.P.Pid() {
		return 0, unix.ESRCH
	}
	return tkill(t, tid, sig)
}

// tkill(tid, sig).
func sysTkill(t *task.Task, a task.Args) (uintptr, error) {
	tid, sig := int(int32(a[0])), int(int32(a[1]))
	if tid <= 0 || sig < 0 || sig > task.NumSignals {
		return 0, unix.EINVAL
	}
	return tkill(t, tid, sig)
}

func tkill(t *task.Task, tid, sig int) (uintptr, error) {
	target := t.P.Task(tid)
	if target == nil {
		return 0, unix.ESRCH
	}
	if sig != 0 {
		t.P.SendSignal(target, task.Siginfo{Signo: int32(sig), Code: task.SiTkill, Pid: int32(t.P.Pid())})
	}
	return 0, nil
}

// readQueuedInfo reads the siginfo_t of rt_sigqueueinfo and
// rt_tgsigqueueinfo. Sending to itself, the app may use any si_code.
func readQueuedInfo(t *task.Task, sig int, addr uintptr) (task.Siginfo, error) {
	raw := new([task.SiginfoSize]byte)
	if err := t.CopyIn(raw[:], addr); err != nil {
		return task.Siginfo{}, err
	}
	return task.Siginfo{Signo: int32(sig), Code: int32(le.Uint32(raw[8:])), Raw: raw}, nil
}

// rt_sigqueueinfo(tgid, sig, info).
func sysRtSigqueueinfo(t *task.Task, a task.Args) (uintptr, error) {
	pid, sig := int(int32(a[0])), int(int32(a[1]))
	info, err := readQueuedInfo(t, sig, a[2])
	if err != nil {
		return 0, err
	}
	if sig < 0 || sig > task.NumSignals {
		return 0, unix.EINVAL
	}
	if pid != t.P.Pid() {
		return 0, unix.ESRCH
	}
	if sig != 0 {
		t.P.SendSignal(nil, info)
	}
	return 0, nil
}

// rt_tgsigqueueinfo(tgid, tid, sig, info).
func sysRtTgsigqueueinfo(t *task.Task, a task.Args) (uintptr, error) {
	tgid, tid, sig := int(int32(a[0])), int(int32(a[1])), int(int32(a[2]))
	if tgid <= 0 || tid <= 0 {
		return 0, unix.EINVAL
	}
	info, err := readQueuedInfo(t, sig, a[3])
	if err != nil {
		return 0, err
	}
	if sig < 0 || sig > task.NumSignals {
		return 0, unix.EINVAL
	}
	target := t.P.Task(tid)
	if tgid != t.P.Pid() || target == nil {
		return 0, unix.ESRCH
	}
	if sig != 0 {
		t.P.SendSignal(target, info)
	}
	return 0, nil
}

// rt_sigreturn(): back from a handler. RAX is the interrupted code's, so
// Loop must not overwrite it; a frame that cannot be read back kills the
// process with SIGSEGV.
func sysRtSigreturn(t *task.Task, a task.Args) (uintptr, error) {
	t.NoReturnValue = true
	if err := t.Sigreturn(); err != nil {
		t.BadFrame(err)
	}
	return 0, nil
}

// rt_sigsuspend(mask, sigsetsize): wait for a signal with mask in place
// of the thread's own; always EINTR. The handler runs with mask, and the
// old mask comes back when it returns.
func sysRtSigsuspend(t *task.Task, a task.Args) (uintptr, error) {
	if a[1] != sigsetSize {
		return 0, unix.EINVAL
	}
	mask, err := t.ReadU64(a[0])
	if err != nil {
		return 0, err
	}
	t.SetWaitSigmask(mask)
	<-t.InterruptCh()
	return 0, unix.EINTR
}

// pause(): wait for a signal.
func sysPause(t *task.Task, a task.Args) (uintptr, error) {
	<-t.InterruptCh()
	return 0, unix.EINTR
}

// rt_sigtimedwait(set, info, timeout, sigsetsize): take a pending signal of
// set, waiting for one up to timeout (nil: forever). The signals of set are
// unblocked during the wait, so one sent meanwhile ends it; another
// unblocked signal ends it with EINTR, and the timeout with EAGAIN.
func sysRtSigtimedwait(t *task.Task, a task.Args) (uintptr, error) {
	if a[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	set, err := t.ReadU64(a[0])
	if err != nil {
		return 0, err
	}
	set &^= task.Unblockable
	var d time.Duration = -1 // forever
	if a[2] != 0 {
		var ts [16]byte
		if err := t.CopyIn(ts[:], a[2]); err != nil {
			return 0, err
		}
		sec, nsec := int64(le.Uint64(ts[0:])), int64(le.Uint64(ts[8:]))
		if sec < 0 || nsec < 0 || nsec >= 1e9 {
			return 0, unix.EINVAL
		}
		d = timespecDuration(sec, nsec)
	}
	info, ok := dequeueFrom(t, set)
	if !ok {
		if d == 0 {
			return 0, unix.EAGAIN
		}
		var timeout <-chan time.Time
		if d > 0 {
			tm := time.NewTimer(d)
			defer tm.Stop()
			timeout = tm.C
		}
		s := &t.P.Sig
		s.Mu.Lock()
		old := t.Sigmask
		t.Sigmask &^= set
		s.Mu.Unlock()
		timedOut := false
		select {
		case <-t.InterruptCh():
		case <-timeout:
			timedOut = true
		}
		t.SetSigmask(old)
		info, ok = dequeueFrom(t, set)
		if !ok {
			if timedOut {
				return 0, unix.EAGAIN
			}
			return 0, unix.EINTR
		}
	}
	if a[1] != 0 {
		var b [task.SiginfoSize]byte
		info.Encode(b[:])
		if err := t.CopyOut(a[1], b[:]); err != nil {
			return 0, err
		}
	}
	return uintptr(info.Signo), nil
}

// dequeueFrom takes the next pending signal of set, blocked or not
// (thread-directed first).
func dequeueFrom(t *task.Task, set uint64) (task.Siginfo, bool) {
	s := &t.P.Sig
	s.Mu.Lock()
	defer s.Mu.Unlock()
	for _, q := range []*task.SigQueue{&t.Pending, &s.Pending} {
		if ready := q.Mask & set; ready != 0 {
			return q.Take(task.NextSignal(ready)), true
		}
	}
	return task.Siginfo{}, false
}
