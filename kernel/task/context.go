package task

import (
	"time"

	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// Cred returns the task's credentials for permission checks
// (vfs.Context): its filesystem user and group ids and supplementary
// groups, so an app that drops root (setuid) is checked like on Linux.
func (t *Task) Cred() *vfs.Cred {
	s := t.P.State()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	c := &s.Cred
	return &vfs.Cred{UID: c.Fsuid, GID: c.Fsgid, Groups: append([]uint32(nil), c.Groups...)}
}

// ThreadID returns the task's thread id (vfs.Context).
func (t *Task) ThreadID() int { return t.TID }

// Interrupted is ready when a blocking operation of the task must end
// with EINTR (vfs.Context).
func (t *Task) Interrupted() <-chan struct{} { return t.InterruptCh() }

// Block implements socket.Blocker and unix.Blocker for the task: a wait
// ends with EINTR when a signal arrives and EAGAIN at deadline.
func (t *Task) Block(ch <-chan struct{}, deadline time.Time) error {
	var expired <-chan time.Time
	if !deadline.IsZero() {
		tm := time.NewTimer(time.Until(deadline))
		defer tm.Stop()
		expired = tm.C
	}
	select {
	case <-ch:
		return nil
	case <-expired:
		return unix.EAGAIN
	case <-t.InterruptCh():
		return unix.EINTR
	}
}
