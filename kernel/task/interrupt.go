package task

// Blocking syscalls wait on interruptCh as well as their own event, so a
// signal or the process exiting ends the wait with EINTR.
//
// The channel reflects state, not events: it is closed whenever the task
// has a pending signal it does not block (with the mask in force when the
// wait starts, e.g. rt_sigsuspend's) or the process is exiting, so a
// signal sent just before the wait begins is not lost. Loop hands out a
// fresh channel for the next syscall once a closed one has been acted on.

// interruptCh returns t's interrupt channel (see above). A channel closed
// for a signal that has been taken since is replaced by a fresh one.
func (t *Task) InterruptCh() <-chan struct{} {
	s := &t.P.Sig
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if t.intrClosed && !t.signalPendingLocked() && !t.P.Exiting() {
		t.intr, t.intrClosed = nil, false
	}
	if t.intr == nil {
		t.intr = make(chan struct{})
	}
	t.checkInterruptLocked()
	return t.intr
}

// checkInterruptLocked closes the interrupt channel when t must leave a
// wait. Called with P.sig.mu held.
func (t *Task) checkInterruptLocked() {
	if t.intr == nil || t.intrClosed {
		return
	}
	if t.signalPendingLocked() || t.P.Exiting() {
		close(t.intr)
		t.intrClosed = true
	}
}

// signalPendingLocked reports whether t has a signal to act on: a
// thread-directed one it does not block, or a process-directed one it is
// to take (signal_pending).
func (t *Task) signalPendingLocked() bool {
	t.syncMaskLocked()
	if t.Pending.Mask&^t.Sigmask != 0 {
		return true
	}
	return t.takeShared && t.P.Sig.Pending.Mask&^t.Sigmask != 0
}

// Wake ends a blocking syscall of t with EINTR (Runner.Interrupt calls
// it: a signal t does not block arrived, or the process is exiting). A
// wait that starts later sees the signal or the exit by itself.
func (t *Task) Wake() {
	s := &t.P.Sig
	s.Mu.Lock()
	if t.intr != nil && !t.intrClosed {
		close(t.intr)
		t.intrClosed = true
	}
	s.Mu.Unlock()
}

// resetInterrupt drops a closed interrupt channel before the task
// re-enters the app; the next interruptCh call makes a new one.
func (t *Task) ResetInterrupt() {
	s := &t.P.Sig
	s.Mu.Lock()
	if t.intrClosed {
		t.intr, t.intrClosed = nil, false
	}
	s.Mu.Unlock()
}
