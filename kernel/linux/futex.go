package linux

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// futexWaiter is one thread blocked in FUTEX_WAIT.
type futexWaiter struct {
	addr   uintptr
	bitset uint32
	ch     chan struct{} // closed by a wake
}

type futexTable struct {
	mu      sync.Mutex
	waiters map[uintptr][]*futexWaiter
}

var futexes = futexTable{waiters: map[uintptr][]*futexWaiter{}}

// futexWait blocks while *addr == val until a wake with an intersecting
// bitset, the deadline (zero: none), or an interrupt of the task.
// Errors: EAGAIN (value differs), ETIMEDOUT, EINTR, EFAULT (futex(2)).
func (t *Task) futexWait(addr uintptr, val, bitset uint32, deadline time.Time) error {
	if addr%4 != 0 {
		return unix.EINVAL
	}
	w := &futexWaiter{addr: addr, bitset: bitset, ch: make(chan struct{})}
	futexes.mu.Lock()
	cur, err := t.ReadU32(addr)
	if err != nil {
		futexes.mu.Unlock()
		return unix.EFAULT
	}
	if cur != val {
		futexes.mu.Unlock()
		return unix.EAGAIN
	}
	futexes.waiters[addr] = append(futexes.waiters[addr], w)
	futexes.mu.Unlock()

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
	case <-t.interruptCh():
		if futexes.remove(w) {
			return unix.EINTR
		}
		return nil
	}
}

func (ft *futexTable) remove(w *futexWaiter) bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ws := ft.waiters[w.addr]
	for i, x := range ws {
		if x == w {
			ft.waiters[w.addr] = append(ws[:i:i], ws[i+1:]...)
			if len(ft.waiters[w.addr]) == 0 {
				delete(ft.waiters, w.addr)
			}
			return true
		}
	}
	return false
}

// futexWake wakes up to n waiters on addr whose bitset intersects bitset.
func (p *Process) futexWake(addr uintptr, n int, bitset uint32) int {
	futexes.mu.Lock()
	defer futexes.mu.Unlock()
	ws := futexes.waiters[addr]
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
	if len(keep) == 0 {
		delete(futexes.waiters, addr)
	} else {
		futexes.waiters[addr] = keep
	}
	return woken
}

// futexRequeue wakes up to n waiters on addr and moves up to n2 of the rest
// to addr2 (FUTEX_REQUEUE / FUTEX_CMP_REQUEUE).
func (p *Process) futexRequeue(addr, addr2 uintptr, n, n2 int) int {
	futexes.mu.Lock()
	defer futexes.mu.Unlock()
	ws := futexes.waiters[addr]
	woken, moved := 0, 0
	var keep []*futexWaiter
	for _, w := range ws {
		switch {
		case woken < n:
			close(w.ch)
			woken++
		case moved < n2:
			w.addr = addr2
			futexes.waiters[addr2] = append(futexes.waiters[addr2], w)
			moved++
		default:
			keep = append(keep, w)
		}
	}
	if len(keep) == 0 {
		delete(futexes.waiters, addr)
	} else {
		futexes.waiters[addr] = keep
	}
	return woken + moved
}
