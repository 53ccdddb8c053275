package task

import (
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// File is an open file description (open(2)): what an fd refers to.
// Methods return unix.Errno errors. Read returns 0, nil at end of file.
type File interface {
	Read(t *Task, p []byte) (int, error)
	Write(t *Task, p []byte) (int, error)
	Close() error
}

// Optional capabilities of a File.
type (
	Seeker interface {
		Seek(off int64, whence int) (int64, error)
	}
	PReader interface {
		Pread(p []byte, off int64) (int, error)
	}
	PWriter interface {
		Pwrite(p []byte, off int64) (int, error)
	}
	Stater  interface{ Stat() (unix.Stat_t, error) }
	Ioctler interface {
		Ioctl(t *Task, req, arg uintptr) (uintptr, error)
	}
	DirReader interface{ ReadDir(p []byte) (int, error) }
)

// Readiness: a File that can block implements gVisor's waiter.Waitable.
// Readiness(mask) returns the events (EventIn, EventOut, EventHUp,
// EventErr, ... which equal the POLL* and EPOLL* bits) that hold now;
// EventRegister puts a waiter.Entry on the file's waiter.Queue, which the
// file notifies with the events that changed. A File without Waitable, or
// one that embeds AlwaysReady, is always readable and writable, like a
// regular file (sys_event.go has the rest).

// AlwaysReady is the readiness of a file whose reads and writes never
// block: regular files, ramfs and /proc files. It reports
// defaultPollMask and never notifies. Like a Linux file without a poll
// method (DEFAULT_POLLMASK), such a file cannot be added to an epoll
// instance (EPERM).
type AlwaysReady struct{}

// Readiness reports readable and writable, within mask.
func (AlwaysReady) Readiness(mask waiter.EventMask) waiter.EventMask {
	return waiter.EventMask(DefaultPollMask) & mask
}

// EventRegister does nothing: the readiness never changes.
func (AlwaysReady) EventRegister(*waiter.Entry) error { return nil }

// EventUnregister does nothing.
func (AlwaysReady) EventUnregister(*waiter.Entry) {}

// NotPollable marks files that epoll_ctl refuses with EPERM.
func (AlwaysReady) NotPollable() {}

// waitQueue is a waiter.Queue whose EventRegister has the signature of
// waiter.Waitable, for files to embed: they add Readiness and call Notify
// after each change of readiness.
type WaitQueue struct{ waiter.Queue }

// EventRegister adds e to the queue.
func (q *WaitQueue) EventRegister(e *waiter.Entry) error {
	q.Queue.EventRegister(e)
	return nil
}

// fdEntry is one slot of the fd table.
type fdEntry struct {
	File    File
	cloexec bool
	Flags   *FileFlags // status flags shared by dup'ed fds (O_NONBLOCK, O_APPEND)
}

type FileFlags struct {
	Mu    sync.Mutex
	Flags int
	Refs  int
}

// FDTable maps fds to open files (shared by all threads: CLONE_FILES).
type FDTable struct {
	Mu    sync.Mutex
	Table map[int]*fdEntry
	Limit int
}

// NewFDTable returns an empty table with RLIMIT_NOFILE 1024.
func NewFDTable() *FDTable { return &FDTable{Table: map[int]*fdEntry{}, Limit: 1024} }

// Install puts f at the lowest free fd >= min; EMFILE when full.
func (d *FDTable) Install(f File, flags int, cloexec bool, min int) (int, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	for fd := min; fd < d.Limit; fd++ {
		if _, ok := d.Table[fd]; !ok {
			d.Table[fd] = &fdEntry{File: f, cloexec: cloexec, Flags: &FileFlags{Flags: flags, Refs: 1}}
			return fd, nil
		}
	}
	return -1, unix.EMFILE
}

// InstallAt puts f at fd, closing what was there (dup2 semantics).
func (d *FDTable) InstallAt(fd int, f File, flags int, cloexec bool) error {
	if fd < 0 || fd >= d.Limit {
		return unix.EBADF
	}
	d.Mu.Lock()
	old := d.Table[fd]
	d.Table[fd] = &fdEntry{File: f, cloexec: cloexec, Flags: &FileFlags{Flags: flags, Refs: 1}}
	d.Mu.Unlock()
	if old != nil {
		d.release(old)
	}
	return nil
}

// Get returns the file at fd; EBADF when none.
func (d *FDTable) Get(fd int) (File, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	e, ok := d.Table[fd]
	if !ok {
		return nil, unix.EBADF
	}
	return e.File, nil
}

// Flags returns the status flags of fd (fcntl F_GETFL).
func (d *FDTable) Flags(fd int) (int, error) {
	d.Mu.Lock()
	e, ok := d.Table[fd]
	d.Mu.Unlock()
	if !ok {
		return 0, unix.EBADF
	}
	e.Flags.Mu.Lock()
	defer e.Flags.Mu.Unlock()
	return e.Flags.Flags, nil
}

// SetFlags sets the status flags of fd (fcntl F_SETFL).
func (d *FDTable) SetFlags(fd, flags int) error {
	d.Mu.Lock()
	e, ok := d.Table[fd]
	d.Mu.Unlock()
	if !ok {
		return unix.EBADF
	}
	e.Flags.Mu.Lock()
	e.Flags.Flags = flags
	e.Flags.Mu.Unlock()
	return nil
}

// CloseOnExec reports and sets FD_CLOEXEC.
func (d *FDTable) CloseOnExec(fd int) (bool, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	e, ok := d.Table[fd]
	if !ok {
		return false, unix.EBADF
	}
	return e.cloexec, nil
}

func (d *FDTable) SetCloseOnExec(fd int, on bool) error {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	e, ok := d.Table[fd]
	if !ok {
		return unix.EBADF
	}
	e.cloexec = on
	return nil
}

// Dup duplicates fd to the lowest free fd >= min (dup, F_DUPFD).
func (d *FDTable) Dup(fd, min int, cloexec bool) (int, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	e, ok := d.Table[fd]
	if !ok {
		return -1, unix.EBADF
	}
	for n := min; n < d.Limit; n++ {
		if _, used := d.Table[n]; !used {
			e.Flags.Mu.Lock()
			e.Flags.Refs++
			e.Flags.Mu.Unlock()
			d.Table[n] = &fdEntry{File: e.File, cloexec: cloexec, Flags: e.Flags}
			return n, nil
		}
	}
	return -1, unix.EMFILE
}

// Dup3 duplicates oldfd onto newfd (dup2/dup3); EINVAL when equal.
func (d *FDTable) Dup3(oldfd, newfd int, cloexec bool) (int, error) {
	if newfd < 0 || newfd >= d.Limit {
		return -1, unix.EBADF
	}
	d.Mu.Lock()
	e, ok := d.Table[oldfd]
	if !ok {
		d.Mu.Unlock()
		return -1, unix.EBADF
	}
	old := d.Table[newfd]
	e.Flags.Mu.Lock()
	e.Flags.Refs++
	e.Flags.Mu.Unlock()
	d.Table[newfd] = &fdEntry{File: e.File, cloexec: cloexec, Flags: e.Flags}
	d.Mu.Unlock()
	if old != nil {
		d.release(old)
	}
	return newfd, nil
}

// Close closes fd; EBADF when it is not open.
func (d *FDTable) Close(fd int) error {
	d.Mu.Lock()
	e, ok := d.Table[fd]
	delete(d.Table, fd)
	d.Mu.Unlock()
	if !ok {
		return unix.EBADF
	}
	return d.release(e)
}

func (d *FDTable) release(e *fdEntry) error {
	e.Flags.Mu.Lock()
	e.Flags.Refs--
	last := e.Flags.Refs == 0
	e.Flags.Mu.Unlock()
	if last {
		return e.File.Close()
	}
	return nil
}

// Fds lists the open fds (for /proc/self/fd).
func (d *FDTable) Fds() []int {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	var out []int
	for fd := range d.Table {
		out = append(out, fd)
	}
	return out
}

// HeldFile is an open file description taken out of the fd table with a
// reference of its own: a file in flight in an SCM_RIGHTS message. It
// stays open while held, even after every fd of it is closed.
type HeldFile struct {
	file  File
	flags *FileFlags
}

// Hold takes a reference to the open file description of fd.
func (d *FDTable) Hold(fd int) (*HeldFile, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	e, ok := d.Table[fd]
	if !ok {
		return nil, unix.EBADF
	}
	e.Flags.Mu.Lock()
	e.Flags.Refs++
	e.Flags.Mu.Unlock()
	return &HeldFile{e.File, e.Flags}, nil
}

// Release drops the reference; the last one closes the file.
func (h *HeldFile) Release() {
	h.flags.Mu.Lock()
	h.flags.Refs--
	last := h.flags.Refs == 0
	h.flags.Mu.Unlock()
	if last {
		h.file.Close()
	}
}

// clone takes another reference to h's file.
func (h *HeldFile) Clone() *HeldFile {
	h.flags.Mu.Lock()
	h.flags.Refs++
	h.flags.Mu.Unlock()
	return &HeldFile{h.file, h.flags}
}

// InstallHeld gives h's reference to a new fd, the lowest free one.
func (d *FDTable) InstallHeld(h *HeldFile, cloexec bool) (int, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	for fd := 0; fd < d.Limit; fd++ {
		if _, ok := d.Table[fd]; !ok {
			d.Table[fd] = &fdEntry{File: h.file, cloexec: cloexec, Flags: h.flags}
			return fd, nil
		}
	}
	return -1, unix.EMFILE
}

// Poll bits (poll(2)); the EPOLL* constants and waiter.Event* have the
// same values.
const (
	PollIn     = unix.POLLIN
	PollPri    = unix.POLLPRI
	PollOut    = unix.POLLOUT
	PollErr    = unix.POLLERR
	PollHup    = unix.POLLHUP
	PollNval   = unix.POLLNVAL
	PollRdNorm = unix.EPOLLRDNORM
	PollRdBand = unix.EPOLLRDBAND
	PollWrNorm = unix.EPOLLWRNORM
	PollWrBand = unix.EPOLLWRBAND

	// defaultPollMask is the readiness of a file without Waitable.
	DefaultPollMask = PollIn | PollOut | PollRdNorm | PollWrNorm
)
