package task

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Futexes are keyed by app virtual address within one address space (MM):
// its threads share the table. Until processes have address spaces of
// their own, private and shared futexes are the same thing.

// futexWaiter is one thread blocked in FUTEX_WAIT.
type futexWaiter struct {
	addr   uintptr
	bitset uint32
	ch     chan struct{} // closed by a wake
}

type futexTable struct {
	Mu      sync.Mutex
	Waiters map[uintptr][]*futexWaiter
}

func newFutexTable() *futexTable { return &futexTable{Waiters: map[uintptr][]*futexWaiter{}} }

// futexWait blocks while *addr == val until a wake with an intersecting
// bitset, the deadline (zero: none), or an interrupt of the task.
// Errors: EAGAIN (value differs), ETIMEDOUT, EINTR, EFAULT (futex(2)).
func (t *Task) FutexWait(addr uintptr, val, bitset uint32, deadline time.Time) error {
	futexes := t.P.MM.Futexes
	if addr%4 != 0 {
		return unix.EINVAL
	}
	intr := t.InterruptCh()
	w := &futexWaiter{addr: addr, bitset: bitset, ch: make(chan struct{})}
	// The value check and the queueing are atomic with respect to wakers,
	// which take the same lock after changing the word.
	futexes.Mu.Lock()
	cur, err := t.ReadU32(addr)
	if err != nil {
		futexes.Mu.Unlock()
		return unix.EFAULT
	}
	if cur != val {
		futexes.Mu.Unlock()
		return unix.EAGAIN
	}
	futexes.Waiters[addr] = append(futexes.Waiters[addr], w)
	futexes.Mu.Unlock()

	var timeout <-chan time.Time
	if !deadline.IsZero() {
		tm := time.NewTimer(time.Until(deadline))
		defer tm.Stop()
		timeout = tm.C
	}
	select {
	case <-w.ch:
		return nil
	case <-timeout:
		if futexes.remove(w) {
			return unix.ETIMEDOUT
		}
		return nil // woken concurrently
	case <-intr:
		if futexes.remove(w) {
			return unix.EINTR
		}
		return nil
	}
}

// remove takes w off its queue (w.addr may have changed by a requeue);
// false when a wake got it first.
func (ft *futexTable) remove(w *futexWaiter) bool {
	ft.Mu.Lock()
	defer ft.Mu.Unlock()
	ws := ft.Waiters[w.addr]
	for i, x := range ws {
		if x == w {
			ft.Waiters[w.addr] = append(ws[:i:i], ws[i+1:]...)
			if len(ft.Waiters[w.addr]) == 0 {
				delete(ft.Waiters, w.addr)
			}
			return true
		}
	}
	return false
}

// futexWake wakes up to n waiters on addr whose bitset intersects bitset.
func (p *Process) FutexWake(addr uintptr, n int, bitset uint32) int {
	futexes := p.MM.Futexes
	futexes.Mu.Lock()
	defer futexes.Mu.Unlock()
	return futexes.wakeLocked(addr, n, bitset)
}

func (ft *futexTable) wakeLocked(addr uintptr, n int, bitset uint32) int {
	ws := ft.Waiters[addr]
	woken := 0
	keep := ws[:0]
	for _, w := range ws {
		if woken < n && w.bitset&bitset != 0 {
			close(w.ch)
			woken++
		} else {
			keep = append(keep, w)
		}
	}
	clear(ws[len(keep):])
	if len(keep) == 0 {
		delete(ft.Waiters, addr)
	} else {
		ft.Waiters[addr] = keep
	}
	return woken
}

// futexRequeue wakes up to n waiters on addr and moves up to n2 of the rest
// to addr2 (FUTEX_REQUEUE). With cmp, *addr must equal val3 first, checked
// under the futex lock (FUTEX_CMP_REQUEUE; EAGAIN otherwise).
func (t *Task) FutexRequeue(addr, addr2 uintptr, n, n2 int, cmp bool, val3 uint32) (int, error) {
	futexes := t.P.MM.Futexes
	if addr%4 != 0 || addr2%4 != 0 {
		return 0, unix.EINVAL
	}
	if n < 0 || n2 < 0 {
		return 0, unix.EINVAL
	}
	futexes.Mu.Lock()
	defer futexes.Mu.Unlock()
	if cmp {
		cur, err := t.ReadU32(addr)
		if err != nil {
			return 0, unix.EFAULT
		}
		if cur != val3 {
			return 0, unix.EAGAIN
		}
	}
	ws := futexes.Waiters[addr]
	woken, moved := 0, 0
	var keep []*futexWaiter
	for _, w := range ws {
		switch {
		case woken < n:
			close(w.ch)
			woken++
		case moved < n2 && addr2 != addr:
			w.addr = addr2
			futexes.Waiters[addr2] = append(futexes.Waiters[addr2], w)
			moved++
		default:
			keep = append(keep, w)
		}
	}
	if len(keep) == 0 {
		delete(futexes.Waiters, addr)
	} else {
		futexes.Waiters[addr] = keep
	}
	return woken + moved, nil
}

// futex(2) operations (linux/futex.h).
const (
	FutexWaitOp        = 0
	FutexWakeOp        = 1
	FutexRequeueOp     = 3
	FutexCmpRequeueOp  = 4
	FutexWaitBitsetOp  = 9
	FutexWakeBitsetOp  = 10
	FutexPrivateFlag   = 128
	FutexClockRealtime = 256
)
