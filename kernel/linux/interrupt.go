package linux

import "sync"

// Blocking syscalls wait on interruptCh as well as their own event, so a
// signal or the process exiting ends the wait with EINTR.
var (
	intrMu sync.Mutex
	intrCh = map[*Task]chan struct{}{}
)

func (t *Task) interruptCh() <-chan struct{} {
	intrMu.Lock()
	defer intrMu.Unlock()
	ch, ok := intrCh[t]
	if !ok {
		ch = make(chan struct{})
		intrCh[t] = ch
	}
	return ch
}

// Wake ends a blocking syscall of t with EINTR (a signal arrived or the
// process is exiting).
func (t *Task) Wake() {
	intrMu.Lock()
	if ch, ok := intrCh[t]; ok {
		close(ch)
		delete(intrCh, t)
	}
	intrMu.Unlock()
}
