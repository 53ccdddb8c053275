package linux

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Readiness syscalls: poll(2), ppoll(2), select(2), pselect6(2). epoll(7)
// lives in epoll.go and eventfd(2) in eventfd.go.
//
// Readiness comes from gVisor's wait queue (gvisor.dev/gvisor/pkg/waiter).
// A File that can block implements waiter.Waitable: Readiness returns the
// events that hold now (waiter.EventIn, EventOut, EventHUp, ..., which
// equal the POLL* and EPOLL* bits), and EventRegister puts an entry on
// the file's waiter.Queue, which the file notifies with the events that
// may have changed. Files embed waitQueue for the queue. A File without
// Waitable, or with AlwaysReady, is always readable and writable, like a
// regular file (DEFAULT_POLLMASK).
//
// Every blocking wait goes through Task.waitOn: try the operation; if it
// cannot complete, register a channel entry on each file, try again (a
// change made between the first try and the registration is seen then,
// and one made after it leaves a token in the channel), then wait for the
// channel, the task's interrupt channel (EINTR) or the deadline.
func init() {
	register(unix.SYS_POLL, "poll", sysPoll)
	register(unix.SYS_PPOLL, "ppoll", sysPpoll)
	register(unix.SYS_SELECT, "select", sysSelect)
	register(unix.SYS_PSELECT6, "pselect6", sysPselect6)
}

// Event masks that files notify with.
const (
	// eventsIn is what a file notifies when it may have become readable.
	eventsIn = waiter.EventIn | waiter.EventRdNorm
	// eventsOut is what a file notifies when it may have become writable.
	eventsOut = waiter.EventOut | waiter.EventWrNorm
	// eventsAll wakes every waiter whatever it waits for: a change of
	// state such as the last writer closing (Linux wakes without a key).
	eventsAll = waiter.EventMask(math.MaxUint32)
)

// readyFor is what Readiness returns for the events r: those in mask,
// plus EventErr and EventHUp, which hold whatever the caller asked for.
func readyFor(r uint32, mask waiter.EventMask) waiter.EventMask {
	return waiter.EventMask(r) & (mask | waiter.EventErr | waiter.EventHUp)
}

// waitableOf returns the readiness of f: f itself when it implements
// waiter.Waitable, else AlwaysReady.
func waitableOf(f task.File) waiter.Waitable {
	if w, ok := f.(waiter.Waitable); ok {
		return w
	}
	return task.AlwaysReady{}
}

// eventSource is what waitOn registers with: a waiter.Waitable, or an
// object that owns a waiter queue without reporting readiness itself
// (the pipe behind its ends).
type eventSource interface {
	EventRegister(e *waiter.Entry) error
	EventUnregister(e *waiter.Entry)
}

// errTimedOut is what waitOn returns when the timeout passes.
const errTimedOut = unix.ETIMEDOUT

// waitOn runs try until it reports done or fails, and returns its error.
// While try reports not done, the task waits for a notification of mask
// from any of srcs, then tries again: it registers a channel entry on
// each source only after the first try failed and tries once more before
// it waits, so no wakeup is lost. It returns EINTR when the task is
// interrupted, and errTimedOut once timeout has passed (timeout < 0:
// never) and a last try failed too. With timeout 0, try runs once and
// nothing is registered.
func waitOn(t *task.Task, srcs []eventSource, mask waiter.EventMask, timeout time.Duration, try func() (bool, error)) error {
	if done, err := try(); done || err != nil {
		return err
	}
	if timeout == 0 {
		return errTimedOut
	}
	intr := t.InterruptCh()
	ch := make(chan struct{}, 1)
	entries := make([]waiter.Entry, len(srcs))
	for i, s := range srcs {
		entries[i].Init(waiter.ChannelNotifier(ch), mask)
		if err := s.EventRegister(&entries[i]); err != nil {
			for j := range i {
				srcs[j].EventUnregister(&entries[j])
			}
			return err
		}
	}
	defer func() {
		for i, s := range srcs {
			s.EventUnregister(&entries[i])
		}
	}()
	var expired <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		expired = tm.C
	}
	for {
		if done, err := try(); done || err != nil {
			return err
		}
		select {
		case <-ch:
		case <-expired:
			if done, err := try(); done || err != nil {
				return err
			}
			return errTimedOut
		case <-intr:
			return unix.EINTR
		}
	}
}

// blockOn is waitOn for a read or write on one file with no deadline:
// EAGAIN instead of waiting when nonblock (O_NONBLOCK).
// The first try is made here, so an operation that need not wait
// allocates nothing for waiting.
func blockOn(t *task.Task, src eventSource, mask waiter.EventMask, nonblock bool, try func() (bool, error)) error {
	if done, err := try(); done || err != nil {
		return err
	}
	if nonblock {
		return unix.EAGAIN
	}
	return waitOn(t, []eventSource{src}, mask, -1, try)
}

// nonblockFlag tells whether O_NONBLOCK is set on the open file
// description of a File that blocks (eventfd, timerfd): it follows fcntl
// F_SETFL once the file is installed with installNonblocking.
type nonblockFlag struct {
	initial bool                           // O_NONBLOCK at creation
	desc    atomic.Pointer[task.FileFlags] // the description's status flags
}

func (n *nonblockFlag) get() bool {
	d := n.desc.Load()
	if d == nil {
		return n.initial
	}
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.Flags&unix.O_NONBLOCK != 0
}

// installNonblocking installs f at the lowest free fd with the status
// flags (O_RDWR plus O_NONBLOCK when nonblock) and ties n to them.
func installNonblocking(t *task.Task, f task.File, n *nonblockFlag, nonblock, cloexec bool) (uintptr, error) {
	flags := unix.O_RDWR
	if nonblock {
		flags |= unix.O_NONBLOCK
	}
	n.initial = nonblock
	fd, err := t.P.FDs.Install(f, flags, cloexec, 0)
	if err != nil {
		return 0, err
	}
	// f is a pointer, so the comparison is safe; another thread may have
	// closed fd already.
	if file, desc, err := getDesc(t.P.FDs, fd); err == nil && file == f {
		n.desc.Store(desc)
	}
	return uintptr(fd), nil
}

// waitReady runs scan until it reports true, the timeout passes (timeout
// < 0: never) or the task is interrupted (EINTR), waiting for events of
// mask from ws in between (poll, select, epoll_wait). scan runs once more
// after the timeout; with timeout 0 it runs once.
func waitReady(t *task.Task, ws []waiter.Waitable, mask waiter.EventMask, timeout time.Duration, scan func() bool) error {
	srcs := make([]eventSource, len(ws))
	for i, w := range ws {
		srcs[i] = w
	}
	err := waitOn(t, srcs, mask, timeout, func() (bool, error) { return scan(), nil })
	if err == errTimedOut {
		return nil
	}
	return err
}

// timespecTimeout reads a relative timeout for ppoll, pselect6 and
// epoll_pwait2: -1 (infinite) when addr is 0; EINVAL when invalid.
func timespecTimeout(t *task.Task, addr uintptr) (time.Duration, error) {
	if addr == 0 {
		return -1, nil
	}
	return readTimespec(t, addr)
}

// remaining is what is left of timeout (>= 0) since start.
func remaining(t *task.Task, timeout time.Duration, start int64) time.Duration {
	return max(0, timeout-time.Duration(t.P.K.Nanotime()-start))
}

// withSigmask runs wait with the signal mask at maskAddr (when non-zero)
// in place of the task's own (ppoll, pselect6, epoll_pwait). EINVAL
// unless size is 8. After EINTR the temporary mask stays in force until
// the signal is delivered, whose handler frame records the saved one
// (setWaitSigmask in signal.go); otherwise it is restored at once.
func withSigmask(t *task.Task, maskAddr, size uintptr, wait func() (uintptr, error)) (uintptr, error) {
	if maskAddr == 0 {
		return wait()
	}
	if size != 8 {
		return 0, unix.EINVAL
	}
	mask, err := t.ReadU64(maskAddr)
	if err != nil {
		return 0, err
	}
	t.SetWaitSigmask(mask)
	r, err := wait()
	t.EndWaitSigmask(err == unix.EINTR)
	return r, err
}

// nofileLimit is the soft RLIMIT_NOFILE (bound on poll's nfds).
func nofileLimit(t *task.Task) int {
	t.P.FDs.Mu.Lock()
	defer t.P.FDs.Mu.Unlock()
	return t.P.FDs.Limit
}

// doPoll implements poll and ppoll over the pollfd array at addr
// (struct pollfd {int fd; short events; short revents}).
func doPoll(t *task.Task, addr uintptr, nfds uint64, timeout time.Duration) (uintptr, error) {
	if nfds > uint64(nofileLimit(t)) {
		return 0, unix.EINVAL
	}
	buf := make([]byte, 8*nfds)
	if err := t.CopyIn(buf, addr); err != nil {
		return 0, err
	}
	files := make([]waiter.Waitable, nfds)
	var ws []waiter.Waitable
	var mask waiter.EventMask
	for i := range files {
		fd := int32(le.Uint32(buf[8*i:]))
		if fd < 0 {
			continue
		}
		if f, err := t.P.FDs.Get(int(fd)); err == nil {
			files[i] = waitableOf(f)
			ws = append(ws, files[i])
			mask |= waiter.EventMask(le.Uint16(buf[8*i+4:])) | task.PollErr | task.PollHup
		}
	}
	n := 0
	scan := func() bool {
		n = 0
		for i, f := range files {
			fd := int32(le.Uint32(buf[8*i:]))
			var rev uint32
			switch {
			case fd < 0:
			case f == nil:
				rev = task.PollNval
			default:
				events := uint32(le.Uint16(buf[8*i+4:])) | task.PollErr | task.PollHup
				rev = uint32(f.Readiness(waiter.EventMask(events))) & events
			}
			le.PutUint16(buf[8*i+6:], uint16(rev))
			if rev != 0 {
				n++
			}
		}
		return n > 0
	}
	if err := waitReady(t, ws, mask, timeout, scan); err != nil {
		return 0, err
	}
	if err := t.CopyOut(addr, buf); err != nil {
		return 0, err
	}
	return uintptr(n), nil
}

func sysPoll(t *task.Task, a task.Args) (uintptr, error) {
	timeout := time.Duration(-1)
	if ms := int32(a[2]); ms >= 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	return doPoll(t, a[0], uint64(uint32(a[1])), timeout)
}

// ppoll(fds, nfds, tmo_p, sigmask, sigsetsize): the remaining time is
// written back to *tmo_p.
func sysPpoll(t *task.Task, a task.Args) (uintptr, error) {
	timeout, err := timespecTimeout(t, a[2])
	if err != nil {
		return 0, err
	}
	return withSigmask(t, a[3], a[4], func() (uintptr, error) {
		start := t.P.K.Nanotime()
		n, err := doPoll(t, a[0], uint64(uint32(a[1])), timeout)
		if a[2] != 0 && (err == nil || err == unix.EINTR) {
			rem := remaining(t, timeout, start)
			writeTimespec(t, a[2], int64(rem/time.Second), int64(rem%time.Second))
		}
		return n, err
	})
}

// Readiness that sets a bit of each select set (fs/select.c).
const (
	selectIn  = task.PollIn | task.PollRdNorm | task.PollRdBand | task.PollHup | task.PollErr
	selectOut = task.PollOut | task.PollWrNorm | task.PollWrBand | task.PollErr
	selectEx  = task.PollPri
)

// doSelect implements select and pselect6 over the fd_set bitmaps at
// sets[0..2] (read, write, except; 0 = none) for fds below nfds.
func doSelect(t *task.Task, nfds int, sets [3]uintptr, timeout time.Duration) (uintptr, error) {
	if nfds < 0 {
		return 0, unix.EINVAL
	}
	nfds = min(nfds, nofileLimit(t))
	nbytes := (nfds + 63) / 64 * 8
	var in [3][]byte
	for i, addr := range sets {
		if addr == 0 || nbytes == 0 {
			continue
		}
		in[i] = make([]byte, nbytes)
		if err := t.CopyIn(in[i], addr); err != nil {
			return 0, err
		}
	}
	type entry struct {
		fd   int
		w    waiter.Waitable
		want [3]bool
	}
	var entries []entry
	var ws []waiter.Waitable
	var mask waiter.EventMask
	for fd := 0; fd < nfds; fd++ {
		var e entry
		wanted := false
		for i := range in {
			if in[i] != nil && in[i][fd/8]&(1<<(fd%8)) != 0 {
				e.want[i], wanted = true, true
			}
		}
		if !wanted {
			continue
		}
		f, err := t.P.FDs.Get(fd)
		if err != nil {
			return 0, unix.EBADF
		}
		e.fd, e.w = fd, waitableOf(f)
		entries = append(entries, e)
		ws = append(ws, e.w)
		for i, m := range [3]waiter.EventMask{selectIn, selectOut, selectEx} {
			if e.want[i] {
				mask |= m
			}
		}
	}
	var out [3][]byte
	for i := range in {
		if in[i] != nil {
			out[i] = make([]byte, nbytes)
		}
	}
	n := 0
	scan := func() bool {
		n = 0
		for i := range out {
			clear(out[i])
		}
		for _, e := range entries {
			ready := uint32(e.w.Readiness(mask))
			for i, mask := range [3]uint32{selectIn, selectOut, selectEx} {
				if e.want[i] && ready&mask != 0 {
					out[i][e.fd/8] |= 1 << (e.fd % 8)
					n++
				}
			}
		}
		return n > 0
	}
	if err := waitReady(t, ws, mask, timeout, scan); err != nil {
		return 0, err
	}
	for i, addr := range sets {
		if out[i] != nil {
			if err := t.CopyOut(addr, out[i]); err != nil {
				return 0, err
			}
		}
	}
	return uintptr(n), nil
}

// select(nfds, readfds, writefds, exceptfds, timeout): struct timeval
// {sec, usec}; the remaining time is written back.
func sysSelect(t *task.Task, a task.Args) (uintptr, error) {
	timeout := time.Duration(-1)
	if a[4] != 0 {
		var b [16]byte
		if err := t.CopyIn(b[:], a[4]); err != nil {
			return 0, err
		}
		sec, usec := int64(le.Uint64(b[0:])), int64(le.Uint64(b[8:]))
		sec, usec = sec+usec/1e6, usec%1e6
		if sec < 0 || usec < 0 {
			return 0, unix.EINVAL
		}
		timeout = durationOf(sec, usec*1000)
	}
	start := t.P.K.Nanotime()
	n, err := doSelect(t, int(int32(a[0])), [3]uintptr{a[1], a[2], a[3]}, timeout)
	if a[4] != 0 && (err == nil || err == unix.EINTR) {
		rem := remaining(t, timeout, start)
		var b [16]byte
		le.PutUint64(b[0:], uint64(rem/time.Second))
		le.PutUint64(b[8:], uint64(rem%time.Second/time.Microsecond))
		t.CopyOut(a[4], b[:])
	}
	return n, err
}

// pselect6(nfds, readfds, writefds, exceptfds, timeout, sig): sig points
// to {const sigset_t *ss; size_t ss_len}; the remaining time is written
// back to *timeout.
func sysPselect6(t *task.Task, a task.Args) (uintptr, error) {
	timeout, err := timespecTimeout(t, a[4])
	if err != nil {
		return 0, err
	}
	var mask, size uintptr
	if a[5] != 0 {
		var b [16]byte
		if err := t.CopyIn(b[:], a[5]); err != nil {
			return 0, err
		}
		mask, size = uintptr(le.Uint64(b[0:])), uintptr(le.Uint64(b[8:]))
	}
	return withSigmask(t, mask, size, func() (uintptr, error) {
		start := t.P.K.Nanotime()
		n, err := doSelect(t, int(int32(a[0])), [3]uintptr{a[1], a[2], a[3]}, timeout)
		if a[4] != 0 && (err == nil || err == unix.EINTR) {
			rem := remaining(t, timeout, start)
			writeTimespec(t, a[4], int64(rem/time.Second), int64(rem%time.Second))
		}
		return n, err
	})
}
