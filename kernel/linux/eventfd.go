package linux

import (
	"math"
	"sync"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// eventfd(2) and eventfd2(2).
func init() {
	register(unix.SYS_EVENTFD, "eventfd", func(t *task.Task, a task.Args) (uintptr, error) { return newEventFD(t, uint32(a[0]), 0) })
	register(unix.SYS_EVENTFD2, "eventfd2", func(t *task.Task, a task.Args) (uintptr, error) {
		return newEventFD(t, uint32(a[0]), int(int32(a[1])))
	})
}

// eventMax is the largest value of an eventfd counter.
const eventMax = math.MaxUint64 - 1

// eventFD is an eventfd: a 64-bit counter that write adds to and read
// takes (all of it, or 1 with EFD_SEMAPHORE). Reads block while it is 0,
// writes while the sum would exceed eventMax, unless O_NONBLOCK is set on
// the open file description.
type eventFD struct {
	mu             sync.Mutex
	count          uint64
	semaphore      bool
	nonblock       nonblockFlag
	task.WaitQueue // readers wait for eventsIn, writers for eventsOut
}

func newEventFD(t *task.Task, initval uint32, flags int) (uintptr, error) {
	if flags&^(unix.EFD_CLOEXEC|unix.EFD_NONBLOCK|unix.EFD_SEMAPHORE) != 0 {
		return 0, unix.EINVAL
	}
	e := &eventFD{count: uint64(initval), semaphore: flags&unix.EFD_SEMAPHORE != 0}
	return installNonblocking(t, e, &e.nonblock, flags&unix.EFD_NONBLOCK != 0, flags&unix.EFD_CLOEXEC != 0)
}

func (e *eventFD) Read(t *task.Task, p []byte) (int, error) {
	if len(p) < 8 {
		return 0, unix.EINVAL
	}
	var v uint64
	err := blockOn(t, e, eventsIn, e.nonblock.get(), func() (bool, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.count == 0 {
			return false, nil
		}
		v = e.count
		if e.semaphore {
			v = 1
		}
		e.count -= v
		e.Notify(eventsOut)
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	le.PutUint64(p, v)
	return 8, nil
}

func (e *eventFD) Write(t *task.Task, p []byte) (int, error) {
	if len(p) < 8 {
		return 0, unix.EINVAL
	}
	v := le.Uint64(p)
	if v == math.MaxUint64 {
		return 0, unix.EINVAL
	}
	err := blockOn(t, e, eventsOut, e.nonblock.get(), func() (bool, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if eventMax-e.count < v {
			return false, nil
		}
		e.count += v
		e.Notify(eventsIn)
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	return 8, nil
}

func (e *eventFD) Close() error { return nil }

// Readiness: readable while the counter is positive, writable while 1
// can be added (eventfd_poll).
func (e *eventFD) Readiness(mask waiter.EventMask) waiter.EventMask {
	e.mu.Lock()
	defer e.mu.Unlock()
	var r uint32
	if e.count > 0 {
		r |= unix.EPOLLIN
	}
	if e.count < eventMax {
		r |= unix.EPOLLOUT
	}
	return readyFor(r, mask)
}

func (e *eventFD) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Mode: 0o600, Nlink: 1, Blksize: task.PageSize}, nil
}
